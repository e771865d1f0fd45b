// Backoff grows exponentially, is capped, and jitter stays in its range.
#include "client/cpp/retry_policy.h"

#include "gtest/gtest.h"

namespace token::client {
namespace {

TEST(RetryPolicyTest, BackoffGrowsExponentiallyAndIsCapped) {
  RetryPolicy policy{.max_attempts = 10,
                     .initial_backoff = absl::Milliseconds(50),
                     .max_backoff = absl::Milliseconds(300),
                     .multiplier = 2.0,
                     .jitter = 0.2};
  EXPECT_EQ(policy.Backoff(1, 0.5), absl::Milliseconds(50));
  EXPECT_EQ(policy.Backoff(2, 0.5), absl::Milliseconds(100));
  EXPECT_EQ(policy.Backoff(3, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(policy.Backoff(4, 0.5), absl::Milliseconds(300));
  EXPECT_EQ(policy.Backoff(9, 0.5), absl::Milliseconds(300));
  EXPECT_EQ(policy.Backoff(0, 0.5), absl::ZeroDuration());
}

TEST(RetryPolicyTest, JitterStaysWithinItsRange) {
  RetryPolicy policy{.initial_backoff = absl::Milliseconds(100), .jitter = 0.2};
  EXPECT_EQ(policy.Backoff(1, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(policy.Backoff(1, 1.0), absl::Milliseconds(120));
  EXPECT_EQ(policy.Backoff(1, 7.0), absl::Milliseconds(120));  // Clamped.
}

TEST(RetryPolicyTest, OnlyUnavailableIsRetryable) {
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(IsRetryable(static_cast<grpc::StatusCode>(code)), code == grpc::UNAVAILABLE) << code;
  }
}

}  // namespace
}  // namespace token::client
