// FailureLimiter: burst, refill, disabling, and bounded memory.
#include "server/session/failure_limiter.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace token {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// A key may fail `limit` times; the next attempt finds it exhausted.
TEST(FailureLimiterTest, BurstThenExhausted) {
  FailureLimiter limiter({.limit = 3, .window = absl::Minutes(1)});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.Exhausted("k", kStart)) << i;
    limiter.RecordFailure("k", kStart);
  }
  EXPECT_TRUE(limiter.Exhausted("k", kStart));
  EXPECT_FALSE(limiter.Exhausted("other", kStart));
}

// The bucket refills `limit` failures per window, one at a time.
TEST(FailureLimiterTest, RefillsOverTheWindow) {
  FailureLimiter limiter({.limit = 6, .window = absl::Minutes(1)});
  for (int i = 0; i < 6; ++i) limiter.RecordFailure("k", kStart);
  EXPECT_TRUE(limiter.Exhausted("k", kStart + absl::Seconds(9)));
  EXPECT_FALSE(limiter.Exhausted("k", kStart + absl::Seconds(10)));
  limiter.RecordFailure("k", kStart + absl::Seconds(10));
  EXPECT_TRUE(limiter.Exhausted("k", kStart + absl::Seconds(10)));
  EXPECT_FALSE(limiter.Exhausted("k", kStart + absl::Minutes(2)));
}

// A limit of 0 disables limiting entirely.
TEST(FailureLimiterTest, ZeroLimitDisables) {
  FailureLimiter limiter({.limit = 0});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.RecordFailure("k", kStart));
  EXPECT_FALSE(limiter.Exhausted("k", kStart));
  EXPECT_EQ(limiter.size(), 0u);
}

// Memory is bounded: refilled buckets are evicted first; with no room, new
// keys count as exhausted (only failing requests ever ask).
TEST(FailureLimiterTest, BoundedKeysEvictRefilledThenFailClosed) {
  FailureLimiter limiter({.limit = 2, .window = absl::Minutes(1), .max_keys = 4});
  for (int i = 0; i < 4; ++i) limiter.RecordFailure(absl::StrCat("k", i), kStart);
  EXPECT_EQ(limiter.size(), 4u);
  EXPECT_TRUE(limiter.Exhausted("new", kStart));
  EXPECT_TRUE(limiter.RecordFailure("new", kStart));
  // A minute later every bucket has refilled and can be evicted.
  EXPECT_FALSE(limiter.RecordFailure("new", kStart + absl::Minutes(1)));
  EXPECT_LE(limiter.size(), 4u);
}

}  // namespace
}  // namespace token
