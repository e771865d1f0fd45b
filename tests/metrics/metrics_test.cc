// Metrics: what each recorder adds to the Prometheus exposition.
#include "server/metrics/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"

namespace token {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Calls are counted by method, code and reason, and their latency observed.
TEST(MetricsTest, RecordCallCountsByRpcCodeAndReason) {
  Metrics metrics;
  metrics.RecordCall(Rpc::kVerifyAccess, absl::OkStatus(), absl::Microseconds(300));
  metrics.RecordCall(Rpc::kVerifyAccess, absl::OkStatus(), absl::Microseconds(300));
  metrics.RecordCall(Rpc::kRefreshTokens, MakeError(ErrorReason::REFRESH_TOKEN_REUSED, "reused"),
                     absl::Milliseconds(2));
  const std::string text = metrics.Render();
  EXPECT_THAT(text,
              HasSubstr("token_rpc_calls_total{code=\"OK\",reason=\"\",rpc=\"VerifyAccess\"} 2"));
  EXPECT_THAT(text, HasSubstr("token_rpc_calls_total{code=\"UNAUTHENTICATED\",reason=\"REFRESH_"
                              "TOKEN_REUSED\",rpc=\"RefreshTokens\"} 1"));
  EXPECT_THAT(text, HasSubstr("token_rpc_duration_seconds_count{rpc=\"VerifyAccess\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("token_rpc_duration_seconds_bucket{rpc=\"VerifyAccess\",le=\"0.0005\"} 2"));
}

// Revocations are counted by cause; zero counts add nothing.
TEST(MetricsTest, RevokedSessionsCountedByCause) {
  Metrics metrics;
  metrics.RecordSessionsRevoked("revoke_all", 3);
  metrics.RecordSessionsRevoked("revoke_all", 0);
  metrics.RecordSessionsRevoked("reuse_detected", 1);
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("token_sessions_revoked_total{cause=\"revoke_all\"} 3"));
  EXPECT_THAT(text, HasSubstr("token_sessions_revoked_total{cause=\"reuse_detected\"} 1"));
}

// The scrape hook refreshes gauges before every render.
TEST(MetricsTest, ScrapeHookSetsGauges) {
  Metrics metrics;
  int scrapes = 0;
  metrics.SetScrapeHook([&](Metrics& m) {
    ++scrapes;
    m.SetReady(true);
    m.SetPool({.size = 8, .in_use = 2, .connected = 7, .waits = 5});
    m.SetWorkerQueue(4);
    m.SetRevocations(12, true);
  });
  const std::string text = metrics.Render();
  EXPECT_EQ(scrapes, 1);
  EXPECT_THAT(text, HasSubstr("token_ready 1"));
  EXPECT_THAT(text, HasSubstr("token_db_pool_in_use 2"));
  EXPECT_THAT(text, HasSubstr("token_db_pool_waits 5"));
  EXPECT_THAT(text, HasSubstr("token_worker_queue 4"));
  EXPECT_THAT(text, HasSubstr("token_revocation_entries 12"));
  metrics.Render();
  EXPECT_EQ(scrapes, 2);
}

// Key ages are exported per published key; keys that go away stop being exported.
TEST(MetricsTest, KeyAgesFollowPublishedKeys) {
  Metrics metrics;
  metrics.SetKeys({{"kid-old", "active", absl::Hours(2)}, {"kid-new", "next", absl::Minutes(5)}});
  std::string text = metrics.Render();
  EXPECT_THAT(text,
              HasSubstr("token_signing_key_age_seconds{kid=\"kid-old\",state=\"active\"} 7200"));
  EXPECT_THAT(text, HasSubstr("token_signing_key_age_seconds{kid=\"kid-new\",state=\"next\"} 300"));
  metrics.SetKeys({{"kid-new", "active", absl::Minutes(6)}});
  text = metrics.Render();
  EXPECT_THAT(text, Not(HasSubstr("kid-old")));
  EXPECT_THAT(text,
              HasSubstr("token_signing_key_age_seconds{kid=\"kid-new\",state=\"active\"} 360"));
}

// Feed lag is a histogram in seconds; negative lags (clock skew) count as zero.
TEST(MetricsTest, FeedLagObserved) {
  Metrics metrics;
  metrics.RecordRevocationFeedLag(absl::Milliseconds(3));
  metrics.RecordRevocationFeedLag(-absl::Milliseconds(3));
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("token_revocation_feed_lag_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("token_revocation_feed_lag_seconds_bucket{le=\"0.005\"} 2"));
}

}  // namespace
}  // namespace token
