// LatencyHistogram: buckets tile the range without gaps, percentiles land
// within the promised 1/64 relative error, and the report carries them.
#include "bench/latency_histogram.h"

#include <thread>
#include <vector>

#include "bench/report.h"
#include "gtest/gtest.h"

namespace token::bench {
namespace {

// Consecutive buckets are contiguous and every value maps into its bucket.
TEST(LatencyHistogramTest, BucketsTileTheRange) {
  for (int b = 0; b + 1 < LatencyHistogram::kBucketCount; ++b) {
    EXPECT_EQ(LatencyHistogram::BucketHigh(b) + 1, LatencyHistogram::BucketLow(b + 1)) << b;
  }
  for (uint64_t v : std::vector<uint64_t>{0, 1, 127, 128, 129, 255, 256, 1000, 123456789,
                                          LatencyHistogram::kMaxNanos}) {
    const int b = LatencyHistogram::BucketOf(v);
    EXPECT_LE(LatencyHistogram::BucketLow(b), v);
    EXPECT_GE(LatencyHistogram::BucketHigh(b), v);
  }
  EXPECT_EQ(LatencyHistogram::BucketOf(LatencyHistogram::kMaxNanos),
            LatencyHistogram::kBucketCount - 1);
}

// 1..10000 µs uniformly: each percentile within 1/64 of the exact value.
TEST(LatencyHistogramTest, PercentilesWithinRelativeError) {
  LatencyHistogram h;
  for (int us = 1; us <= 10000; ++us) h.Record(absl::Microseconds(us));
  EXPECT_EQ(h.count(), 10000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = p * 100.0;  // µs
    const double got = absl::ToDoubleMicroseconds(h.Percentile(p));
    EXPECT_NEAR(got, exact, exact / 64.0) << p;
  }
  EXPECT_EQ(h.max(), absl::Microseconds(10000));
  EXPECT_EQ(h.min(), absl::Microseconds(1));
  EXPECT_NEAR(absl::ToDoubleMicroseconds(h.mean()), 5000.5, 0.01);
  EXPECT_EQ(h.Percentile(100), absl::Microseconds(10000));
}

TEST(LatencyHistogramTest, EmptyIsZeroAndMergeAdds) {
  LatencyHistogram a, b;
  EXPECT_EQ(a.Percentile(99), absl::ZeroDuration());
  b.Record(absl::Milliseconds(3));
  b.Record(absl::Milliseconds(5));
  a.Merge(b);
  EXPECT_EQ(a.count(), 2);
  EXPECT_EQ(a.max(), absl::Milliseconds(5));
  EXPECT_EQ(a.min(), absl::Milliseconds(3));
}

// Concurrent Record() calls lose nothing.
TEST(LatencyHistogramTest, ConcurrentRecordsAreAllCounted) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.Record(absl::Microseconds(i % 500));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 40000);
}

// The JSON report has the fields bench/run.sh reads.
TEST(ReportTest, JsonHasThroughputPercentilesAndErrors) {
  RunResult r;
  r.options.mode = Mode::kMix;
  r.window = absl::Seconds(10);
  OpResult op;
  op.calls = 100;
  op.ok = 98;
  op.errors = {{"UNAVAILABLE", 2}};
  op.throughput = 10;
  op.p99 = absl::Milliseconds(4);
  r.ops[Op::kVerify] = op;
  r.total = op;
  const nlohmann::json j = ToJson(r);
  EXPECT_EQ(j["mode"], "mix");
  EXPECT_EQ(j["ops"]["verify"]["errors"]["UNAVAILABLE"], 2);
  EXPECT_EQ(j["total"]["latency_ms"]["p99"], 4.0);
  EXPECT_EQ(j["duration_s"], 10.0);
  EXPECT_NE(ToText(r).find("errors: verify UNAVAILABLE 2"), std::string::npos);
}

}  // namespace
}  // namespace token::bench
