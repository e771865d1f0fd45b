// FailureLimiter: burst, refill, disabling, bounded memory that fails open,
// and constant cost per call when full.
#include "server/session/failure_limiter.h"

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

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

// Memory is bounded: a full limiter makes room for a new key by dropping the
// least recently charged bucket, and the new key gets a full burst.
TEST(FailureLimiterTest, BoundedKeysEvictLeastRecentlyCharged) {
  FailureLimiter limiter({.limit = 2, .window = absl::Minutes(1), .max_keys = 4, .shards = 1});
  for (int i = 0; i < 4; ++i) limiter.RecordFailure(absl::StrCat("k", i), kStart);
  // k0 is charged again, so k1 is now the least recently charged.
  EXPECT_TRUE(limiter.RecordFailure("k0", kStart));
  EXPECT_EQ(limiter.size(), 4u);
  EXPECT_FALSE(limiter.Exhausted("new", kStart));
  EXPECT_FALSE(limiter.RecordFailure("new", kStart));
  EXPECT_EQ(limiter.size(), 4u);
  EXPECT_TRUE(limiter.Exhausted("k0", kStart));
  EXPECT_TRUE(limiter.RecordFailure("new", kStart));
  EXPECT_TRUE(limiter.Exhausted("new", kStart));
  EXPECT_EQ(limiter.stats().evictions, 1u);
}

// RandomKey returns a key an attacker could invent: a random session id or
// client address.
std::string RandomKey(std::mt19937_64& random) {
  return absl::StrCat(random() % 2 == 0 ? "session:" : "address:", random(), "-", random());
}

// A flood of invented keys far past max_keys: a key never seen is never
// exhausted (the limiter fails open for keys it cannot track), memory stays
// at max_keys, and a key that keeps failing stays exhausted throughout.
TEST(FailureLimiterTest, FloodOfRandomKeysFailsOpenAndStaysBounded) {
  constexpr size_t kMaxKeys = 1000;
  FailureLimiter limiter({.limit = 3, .window = absl::Minutes(1), .max_keys = kMaxKeys});
  std::mt19937_64 random(42);
  for (int i = 0; i < 3; ++i) limiter.RecordFailure("session:guessed", kStart);
  ASSERT_TRUE(limiter.Exhausted("session:guessed", kStart));
  for (int i = 0; i < 100'000; ++i) {
    const absl::Time now = kStart + absl::Milliseconds(i % 1000);
    limiter.RecordFailure(RandomKey(random), now);
    ASSERT_LE(limiter.size(), kMaxKeys) << i;
    if (i % 10 == 0) {
      // Ten new keys spread over 16 shards cannot push it out of its shard
      // (capacity 62), so it is still tracked and still exhausted.
      ASSERT_TRUE(limiter.Exhausted("session:guessed", now)) << i;
      limiter.RecordFailure("session:guessed", now);
      ASSERT_FALSE(limiter.Exhausted(RandomKey(random), now)) << i;
    }
  }
  EXPECT_EQ(limiter.size(), kMaxKeys);
  EXPECT_FALSE(limiter.Exhausted("session:live", kStart + absl::Seconds(1)));
  EXPECT_FALSE(limiter.RecordFailure("session:live", kStart + absl::Seconds(1)));
}

// Once full, each new key costs exactly one eviction that looks at exactly
// one bucket, however many keys are held: the cost per call does not grow
// with max_keys.
TEST(FailureLimiterTest, EvictionCostPerCallIsConstantWhenFull) {
  for (const size_t max_keys : {size_t{64}, size_t{50'000}}) {
    FailureLimiter limiter({.limit = 5, .window = absl::Minutes(1), .max_keys = max_keys});
    std::mt19937_64 random(7);
    // Shards fill unevenly, so some already evict before all are full.
    while (limiter.size() < max_keys) limiter.RecordFailure(RandomKey(random), kStart);
    const FailureLimiter::Stats full = limiter.stats();
    constexpr uint64_t kCalls = 20'000;
    for (uint64_t i = 0; i < kCalls; ++i) limiter.RecordFailure(RandomKey(random), kStart);
    const FailureLimiter::Stats stats = limiter.stats();
    EXPECT_EQ(stats.evictions - full.evictions, kCalls) << max_keys;
    EXPECT_EQ(stats.entries_examined - full.entries_examined, kCalls) << max_keys;
    EXPECT_EQ(limiter.size(), max_keys);
  }
}

// Capacity is split exactly over the shards, also when there are more shards
// than keys.
TEST(FailureLimiterTest, ShardsShareMaxKeysExactly) {
  for (const size_t max_keys : {size_t{1}, size_t{5}, size_t{17}, size_t{100}}) {
    FailureLimiter limiter({.limit = 2, .max_keys = max_keys, .shards = 16});
    std::mt19937_64 random(max_keys);
    for (int i = 0; i < 2000; ++i) limiter.RecordFailure(RandomKey(random), kStart);
    EXPECT_EQ(limiter.size(), max_keys);
  }
  FailureLimiter none({.limit = 2, .max_keys = 0});
  EXPECT_FALSE(none.RecordFailure("k", kStart));
  EXPECT_FALSE(none.RecordFailure("k", kStart));
  EXPECT_FALSE(none.Exhausted("k", kStart));
  EXPECT_EQ(none.size(), 0u);
}

// Concurrent floods on all shards keep the bound, and a key charged past its
// limit by several threads is exhausted.
TEST(FailureLimiterTest, ConcurrentFloodsStayBounded) {
  constexpr size_t kMaxKeys = 256;
  FailureLimiter limiter({.limit = 4, .window = absl::Minutes(1), .max_keys = kMaxKeys});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limiter, t] {
      std::mt19937_64 random(100 + t);
      for (int i = 0; i < 20'000; ++i) {
        limiter.RecordFailure(RandomKey(random), kStart);
        if (i % 8 == 0) limiter.RecordFailure("address:hot", kStart);
        limiter.Exhausted(RandomKey(random), kStart);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(limiter.size(), kMaxKeys);
  EXPECT_TRUE(limiter.Exhausted("address:hot", kStart));
}

}  // namespace
}  // namespace token
