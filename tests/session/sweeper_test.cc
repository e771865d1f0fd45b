#include "server/session/sweeper.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "tests/common/fake_clock.h"
#include "tests/session/fake_session_store.h"

namespace token {
namespace {

using test::FakeSessionStore;

// 2023-11-14T22:13:20Z.
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

SweeperOptions Options(int batch_size, int max_batches) {
  SweeperOptions options;
  options.expired_retention = absl::Hours(24 * 7);
  options.revoked_retention = absl::Hours(24);
  options.batch_size = batch_size;
  options.max_batches_per_run = max_batches;
  options.batch_timeout = absl::Seconds(5);
  return options;
}

// Session returns a row of "alice" numbered `i`, expiring at `expires_at`.
FakeSessionStore::StoredSession Session(int i, absl::Time expires_at,
                                        std::optional<absl::Time> revoked_at = std::nullopt) {
  FakeSessionStore::StoredSession s;
  s.row.session_id = absl::StrCat("00000000-0000-4000-8000-", absl::Dec(i, absl::kZeroPad12));
  s.row.subject = "alice";
  s.row.created_at = expires_at - absl::Hours(24 * 7);
  s.row.last_used_at = s.row.created_at;
  s.row.expires_at = expires_at;
  s.row.absolute_expires_at = expires_at + absl::Hours(24);
  s.row.revoked_at = revoked_at;
  s.token_hash = std::string(32, 'h');
  return s;
}

// Long-expired rows, `count` of them, numbered from `first`.
void AddExpired(FakeSessionStore& store, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    store.Insert(Session(i, kNow - absl::Hours(24 * 8)));
  }
}

// RunOnce keeps deleting batches until one comes back short.
TEST(SweeperTest, RunOnceLoopsUntilShortBatch) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  AddExpired(store, 0, 25);
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 25);
  EXPECT_EQ(store.calls().sweep_expired, 3);  // 10, 10, 5.
  EXPECT_EQ(store.size(), 0u);
}

// A full last batch needs one more (empty) batch to know it is done.
TEST(SweeperTest, RunOnceExactMultipleEndsWithEmptyBatch) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  AddExpired(store, 0, 20);
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 20);
  EXPECT_EQ(store.calls().sweep_expired, 3);  // 10, 10, 0.
}

// Nothing to delete costs one call and returns 0.
TEST(SweeperTest, RunOnceEmptyStoreMakesOneCall) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 0);
  EXPECT_EQ(store.calls().sweep_expired, 1);
}

// A run stops at max_batches_per_run; the next run continues.
TEST(SweeperTest, RunOnceStopsAtMaxBatchesPerRun) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  AddExpired(store, 0, 100);
  Sweeper sweeper(Options(10, 3), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 30);
  EXPECT_EQ(store.calls().sweep_expired, 3);
  EXPECT_EQ(store.size(), 70u);
  deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 30);
  EXPECT_EQ(store.size(), 40u);
}

// Cut-offs are now minus each retention; rows inside a retention survive.
TEST(SweeperTest, RunOnceUsesRetentionCutoffs) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  store.Insert(Session(1, kNow - absl::Hours(24 * 8)));                     // Expired long ago.
  store.Insert(Session(2, kNow - absl::Hours(24)));                         // Expired recently.
  store.Insert(Session(3, kNow + absl::Hours(1), kNow - absl::Hours(25)));  // Revoked long ago.
  store.Insert(Session(4, kNow + absl::Hours(1), kNow - absl::Hours(1)));   // Revoked recently.
  store.Insert(Session(5, kNow + absl::Hours(1)));                          // Live.
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2);
  ASSERT_TRUE(store.last_sweep().has_value());
  const auto [expired_before, revoked_before, batch] = *store.last_sweep();
  EXPECT_EQ(expired_before, kNow - absl::Hours(24 * 7));
  EXPECT_EQ(revoked_before, kNow - absl::Hours(24));
  EXPECT_EQ(batch, 10);
  EXPECT_FALSE(store.Find(Session(1, kNow).row.session_id).has_value());
  EXPECT_TRUE(store.Find(Session(2, kNow).row.session_id).has_value());
  EXPECT_FALSE(store.Find(Session(3, kNow).row.session_id).has_value());
  EXPECT_TRUE(store.Find(Session(4, kNow).row.session_id).has_value());
  EXPECT_TRUE(store.Find(Session(5, kNow).row.session_id).has_value());
}

// Subject revocations older than the revoked retention are dropped; newer ones stay.
TEST(SweeperTest, RunOnceDropsOnlyOldSubjectRevocations) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  ASSERT_TRUE(store.RevokeSubject("old", "", kNow - absl::Hours(25), std::nullopt, kNow).ok());
  ASSERT_TRUE(store.RevokeSubject("new", "", kNow - absl::Hours(1), std::nullopt, kNow).ok());
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 1);
  EXPECT_FALSE(store.SubjectRevokedAt("old").has_value());
  EXPECT_TRUE(store.SubjectRevokedAt("new").has_value());
}

// A failing store fails the run with its status.
TEST(SweeperTest, RunOnceStoreUnavailableFails) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  AddExpired(store, 0, 5);
  store.SetUnavailable(true);
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(deleted.status()), ErrorReason::DATABASE_UNAVAILABLE);
  EXPECT_EQ(store.calls().sweep_expired, 1);
  EXPECT_EQ(store.size(), 5u);
}

// A failure after some batches stops the run and reports the error.
TEST(SweeperTest, RunOnceFailureMidRunStopsAndFails) {
  FakeClock clock(kNow);
  FakeSessionStore store;
  AddExpired(store, 0, 50);
  store.FailAfter(2);
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(ReasonOf(deleted.status()), ErrorReason::DATABASE_UNAVAILABLE);
  EXPECT_EQ(store.calls().sweep_expired, 3);
  EXPECT_EQ(store.size(), 30u);
}

// Each batch gets its own deadline of batch_timeout from its start.
TEST(SweeperTest, RunOnceBatchDeadlineFromClock) {
  FakeClock clock(kNow);
  FakeSessionStore store(&clock);  // Honours deadlines against the fake clock.
  AddExpired(store, 0, 5);
  Sweeper sweeper(Options(10, 100), store, clock);
  absl::StatusOr<int64_t> deleted = sweeper.RunOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 5);
}

}  // namespace
}  // namespace token
