// LatencyHistogram: a lock-free, log-linear histogram of call latencies, in
// the spirit of HdrHistogram. Durations are kept in nanoseconds: below 128 ns
// one bucket per nanosecond, above that 64 buckets per power of two, so a
// reported percentile is within 1/64 (1.6 %) of the true value, and the
// whole range up to 2^41 ns (about 36 minutes) fits in 2,304 counters.
// Record() is wait-free and may be called from any number of threads.
//
// Usage:
//   LatencyHistogram h;
//   h.Record(absl::Microseconds(420));               // from gRPC callbacks
//   absl::Duration p99 = h.Percentile(99.0);         // after the run
#ifndef TOKEN_BENCH_LATENCY_HISTOGRAM_H_
#define TOKEN_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace token::bench {

class LatencyHistogram {
 public:
  // kLinearBuckets: one bucket per nanosecond below this value.
  static constexpr uint64_t kLinearBuckets = 128;
  // kSubBuckets: buckets per power of two above kLinearBuckets.
  static constexpr uint64_t kSubBuckets = 64;
  // kMaxNanos: larger values are recorded as this value.
  static constexpr uint64_t kMaxNanos = (uint64_t{1} << 41) - 1;
  static constexpr int kBucketCount = kLinearBuckets + (41 - 7) * kSubBuckets;

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Record adds one observation. Negative durations count as zero.
  void Record(absl::Duration latency);

  // Merge adds every observation of `other`.
  // NOTE: not atomic with respect to concurrent Record() calls on `other`.
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  absl::Duration max() const;
  absl::Duration min() const;
  absl::Duration mean() const;

  // Percentile returns the value below which `percent` (0–100) of the
  // observations fall: the middle of the bucket holding that rank, clamped to
  // the observed min and max. Zero when empty.
  absl::Duration Percentile(double percent) const;

  // Bucket geometry, exposed for tests.
  static int BucketOf(uint64_t nanos);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketHigh(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBucketCount> counts_{};
  std::atomic<int64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
  std::atomic<uint64_t> max_nanos_{0};
  std::atomic<uint64_t> min_nanos_{kMaxNanos};
};

}  // namespace token::bench

#endif  // TOKEN_BENCH_LATENCY_HISTOGRAM_H_
