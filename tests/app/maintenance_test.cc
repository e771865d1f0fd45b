// Maintenance (server/app/maintenance.h): one Tick at a time, against the fake
// store and a fake clock.
#include "server/app/maintenance.h"

#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/health/readiness.h"
#include "server/keys/key_provider.h"
#include "server/session/revocation_set.h"
#include "server/session/sweeper.h"
#include "tests/common/fake_clock.h"
#include "tests/keys/test_keys.h"
#include "tests/session/fake_session_store.h"

namespace token {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
constexpr absl::Duration kMaxClockOffset = absl::Seconds(2);
constexpr absl::Duration kSweepInterval = absl::Minutes(1);
constexpr absl::Duration kRetention = absl::Minutes(15);

class MaintenanceTest : public ::testing::Test {
 protected:
  MaintenanceTest()
      : clock_(kT0),
        store_(&clock_),
        sweeper_(SweeperOptions{}, store_, clock_),
        revocations_(kRetention, kRevocationFeedMaxStaleness),
        keys_(testing::TestKeySet()),
        maintenance_(
            {.max_clock_offset = kMaxClockOffset, .sweep_interval = kSweepInterval}, store_,
            sweeper_, readiness_, revocations_, keys_,
            [this](bool serving) { serving_.push_back(serving); }, clock_) {}

  // FeedInSync makes the revocation set in sync as of now.
  void FeedInSync() {
    revocations_.ReplaceAll({});
    revocations_.MarkFresh(clock_.Now());
  }

  // Check returns the named readiness check's "ok".
  bool Check(const std::string& name) const {
    const nlohmann::json described = nlohmann::json::parse(readiness_.DescribeJson());
    EXPECT_TRUE(described["checks"].contains(name)) << name;
    return described["checks"][name]["ok"].get<bool>();
  }

  // Serving returns the last serving status set; fails the test if none was.
  bool Serving() const {
    EXPECT_FALSE(serving_.empty());
    return !serving_.empty() && serving_.back();
  }

  int Sweeps() const { return store_.calls().sweep_expired; }

  FakeClock clock_;
  test::FakeSessionStore store_;
  Sweeper sweeper_;
  Readiness readiness_;
  RevocationSet revocations_;
  KeyProvider keys_;
  std::vector<bool> serving_;
  Maintenance maintenance_;
};

TEST_F(MaintenanceTest, HealthyRoundIsReadyAndServing) {
  FeedInSync();
  maintenance_.Tick();
  EXPECT_TRUE(Check("database"));
  EXPECT_TRUE(Check("clock"));
  EXPECT_TRUE(Check("revocation_feed"));
  EXPECT_TRUE(Check("signing_key"));
  EXPECT_TRUE(readiness_.ready());
  EXPECT_TRUE(Serving());
}

TEST_F(MaintenanceTest, SigningKeyCheckNamesTheCurrentKey) {
  maintenance_.Tick();
  const nlohmann::json described = nlohmann::json::parse(readiness_.DescribeJson());
  EXPECT_EQ(described["checks"]["signing_key"]["detail"].get<std::string>(),
            keys_.Current()->SigningKeyAt(clock_.Now()).kid());
}

TEST_F(MaintenanceTest, DatabaseDownIsNotReadyAndNotServing) {
  FeedInSync();
  store_.SetUnavailable(true);
  maintenance_.Tick();
  EXPECT_FALSE(Check("database"));
  EXPECT_FALSE(readiness_.ready());
  EXPECT_FALSE(Serving());
}

TEST_F(MaintenanceTest, ClockOffsetBeyondTheBoundFailsTheClockCheck) {
  FeedInSync();
  store_.SetDatabaseClockOffset(kMaxClockOffset + absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_TRUE(Check("database"));
  EXPECT_FALSE(Check("clock"));
  EXPECT_FALSE(readiness_.ready());
  EXPECT_FALSE(Serving());

  store_.SetDatabaseClockOffset(-kMaxClockOffset - absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_FALSE(Check("clock"));
}

TEST_F(MaintenanceTest, ClockOffsetWithinTheBoundPassesTheClockCheck) {
  FeedInSync();
  store_.SetDatabaseClockOffset(kMaxClockOffset - absl::Milliseconds(500));
  maintenance_.Tick();
  EXPECT_TRUE(Check("clock"));
  EXPECT_TRUE(Serving());

  store_.SetDatabaseClockOffset(-kMaxClockOffset + absl::Milliseconds(500));
  maintenance_.Tick();
  EXPECT_TRUE(Check("clock"));
}

TEST_F(MaintenanceTest, FeedNotInSyncIsNotReady) {
  maintenance_.Tick();  // No snapshot yet.
  EXPECT_FALSE(Check("revocation_feed"));
  EXPECT_FALSE(readiness_.ready());
  EXPECT_FALSE(Serving());

  FeedInSync();
  maintenance_.Tick();
  EXPECT_TRUE(Check("revocation_feed"));

  // A feed that stops proving itself fresh falls out of sync.
  clock_.Advance(kRevocationFeedMaxStaleness + absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_FALSE(Check("revocation_feed"));
  EXPECT_FALSE(Serving());

  FeedInSync();
  revocations_.MarkOutOfSync();
  maintenance_.Tick();
  EXPECT_FALSE(Check("revocation_feed"));
}

TEST_F(MaintenanceTest, SweepsAtMostOncePerInterval) {
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 0);  // The first sweep is one interval after start.

  clock_.Advance(kSweepInterval);
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 1);
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 1);

  clock_.Advance(kSweepInterval - absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 1);
  clock_.Advance(absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 2);
}

TEST_F(MaintenanceTest, SweepsOnlyWhenTheDatabaseAnswered) {
  store_.SetUnavailable(true);
  clock_.Advance(kSweepInterval);
  maintenance_.Tick();
  clock_.Advance(kSweepInterval);
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 0);

  // The sweep that was due runs on the first round the database answers.
  store_.SetUnavailable(false);
  maintenance_.Tick();
  EXPECT_EQ(Sweeps(), 1);
  const auto sweep = store_.last_sweep();
  ASSERT_TRUE(sweep.has_value());
  EXPECT_EQ(std::get<0>(*sweep), clock_.Now() - SweeperOptions{}.expired_retention);
}

TEST_F(MaintenanceTest, PrunesRevocationsEachTick) {
  revocations_.AddSession("session-a", kT0);
  maintenance_.Tick();
  EXPECT_EQ(revocations_.size(), 1u);

  clock_.Advance(kRetention + absl::Seconds(1));
  revocations_.AddSession("session-b", clock_.Now());
  maintenance_.Tick();
  EXPECT_EQ(revocations_.size(), 1u);  // Only the one still within retention.
  EXPECT_FALSE(revocations_.IsRevoked("session-a", "subject", kT0));
  EXPECT_TRUE(revocations_.IsRevoked("session-b", "subject", kT0));

  // Pruning does not depend on the database.
  store_.SetUnavailable(true);
  clock_.Advance(kRetention + absl::Seconds(1));
  maintenance_.Tick();
  EXPECT_EQ(revocations_.size(), 0u);
}

TEST_F(MaintenanceTest, ServingStatusMirrorsReadiness) {
  FeedInSync();
  maintenance_.Tick();
  ASSERT_EQ(serving_.size(), 1u);
  EXPECT_TRUE(serving_.back());

  store_.SetUnavailable(true);
  maintenance_.Tick();
  ASSERT_EQ(serving_.size(), 2u);
  EXPECT_EQ(serving_.back(), readiness_.ready());
  EXPECT_FALSE(serving_.back());

  store_.SetUnavailable(false);
  maintenance_.Tick();
  ASSERT_EQ(serving_.size(), 3u);
  EXPECT_TRUE(serving_.back());

  // Draining wins over every check.
  readiness_.SetDraining();
  maintenance_.Tick();
  ASSERT_EQ(serving_.size(), 4u);
  EXPECT_FALSE(serving_.back());
}

}  // namespace
}  // namespace token
