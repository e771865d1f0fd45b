#include "bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace token::bench {
namespace {

// Bits of the value kept above the leading one: 64 sub-buckets.
constexpr int kMantissaBits = 6;

void AtomicMax(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t seen = target.load(std::memory_order_relaxed);
  while (value > seen && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

void AtomicMin(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t seen = target.load(std::memory_order_relaxed);
  while (value < seen && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

int LatencyHistogram::BucketOf(uint64_t nanos) {
  nanos = std::min(nanos, kMaxNanos);
  if (nanos < kLinearBuckets) return static_cast<int>(nanos);
  const int msb = std::bit_width(nanos) - 1;  // >= 7
  const int shift = msb - kMantissaBits;
  const uint64_t mantissa = nanos >> shift;  // In [64, 128).
  return static_cast<int>(kLinearBuckets + (msb - 7) * kSubBuckets + (mantissa - kSubBuckets));
}

uint64_t LatencyHistogram::BucketLow(int bucket) {
  if (bucket < static_cast<int>(kLinearBuckets)) return bucket;
  const uint64_t k = (bucket - kLinearBuckets) / kSubBuckets;
  const uint64_t mantissa = (bucket - kLinearBuckets) % kSubBuckets + kSubBuckets;
  return mantissa << (k + 1);
}

uint64_t LatencyHistogram::BucketHigh(int bucket) {
  if (bucket < static_cast<int>(kLinearBuckets)) return bucket;
  const uint64_t k = (bucket - kLinearBuckets) / kSubBuckets;
  const uint64_t mantissa = (bucket - kLinearBuckets) % kSubBuckets + kSubBuckets;
  return ((mantissa + 1) << (k + 1)) - 1;
}

void LatencyHistogram::Record(absl::Duration latency) {
  const int64_t signed_nanos = absl::ToInt64Nanoseconds(latency);
  const uint64_t nanos = std::min<uint64_t>(std::max<int64_t>(signed_nanos, 0), kMaxNanos);
  counts_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  AtomicMax(max_nanos_, nanos);
  AtomicMin(min_nanos_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBucketCount; ++i) {
    const uint64_t n = other.counts_[i].load(std::memory_order_relaxed);
    if (n != 0) counts_[i].fetch_add(n, std::memory_order_relaxed);
  }
  count_.fetch_add(other.count(), std::memory_order_relaxed);
  sum_nanos_.fetch_add(other.sum_nanos_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  if (other.count() > 0) {
    AtomicMax(max_nanos_, other.max_nanos_.load(std::memory_order_relaxed));
    AtomicMin(min_nanos_, other.min_nanos_.load(std::memory_order_relaxed));
  }
}

absl::Duration LatencyHistogram::max() const {
  return count() == 0 ? absl::ZeroDuration()
                      : absl::Nanoseconds(max_nanos_.load(std::memory_order_relaxed));
}

absl::Duration LatencyHistogram::min() const {
  return count() == 0 ? absl::ZeroDuration()
                      : absl::Nanoseconds(min_nanos_.load(std::memory_order_relaxed));
}

absl::Duration LatencyHistogram::mean() const {
  const int64_t n = count();
  if (n == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) /
                           static_cast<double>(n));
}

absl::Duration LatencyHistogram::Percentile(double percent) const {
  const int64_t n = count();
  if (n == 0) return absl::ZeroDuration();
  percent = std::clamp(percent, 0.0, 100.0);
  // The rank of the observation that answers: at least the first one.
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(n))));
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      const uint64_t middle = BucketLow(i) + (BucketHigh(i) - BucketLow(i)) / 2;
      const uint64_t lo = min_nanos_.load(std::memory_order_relaxed);
      const uint64_t hi = max_nanos_.load(std::memory_order_relaxed);
      return absl::Nanoseconds(std::clamp(middle, lo, std::max(lo, hi)));
    }
  }
  return max();
}

}  // namespace token::bench
