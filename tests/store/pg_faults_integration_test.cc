// The pool and the revocation feed when PostgreSQL stops, restarts or stalls.
// One binary of its own: these tests stop the shared cluster.
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/common/error_reason.h"
#include "server/session/request_validation.h"
#include "server/store/pg_revocation_feed.h"
#include "server/store/pg_session_store.h"
#include "tests/harness/poll.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

// A database that is down answers UNAVAILABLE/DATABASE_UNAVAILABLE before the
// deadline, and the pool recovers by itself once it is back.
TEST(PgFaultsTest, DatabaseDownIsUnavailableThenRecovers) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 2);
  ASSERT_TRUE(store->Ping(Deadline()).ok());
  PostgresServer& pg = PostgresEnvironment::Mutable();
  ASSERT_TRUE(pg.StopImmediate().ok());

  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  RefreshToken token;
  absl::Status down = store->CreateSession(NewSessionFor("down", MicrosNow(), &token), deadline);
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_EQ(ReasonOf(down), ErrorReason::DATABASE_UNAVAILABLE);
  EXPECT_LE(absl::Now(), deadline);

  ASSERT_TRUE(pg.Restart().ok());
  EXPECT_TRUE(PollUntil([&] { return store->Ping(absl::Now() + absl::Seconds(1)).ok(); },
                        absl::Seconds(20)));
  EXPECT_TRUE(store->CreateSession(NewSessionFor("down", MicrosNow(), &token), Deadline()).ok());
}

// A statement stuck behind a lock is cancelled at the caller's deadline with
// UNAVAILABLE, writes nothing, and the pool stays usable.
TEST(PgFaultsTest, LockedRowHonoursDeadline) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("locked", now, &token), Deadline()).ok());

  pqxx::connection blocker(MigratedConninfo());
  pqxx::work hold(blocker);
  hold.exec_params("SELECT 1 FROM sessions WHERE session_id = $1::uuid FOR UPDATE",
                   UuidToString(token.session_id));

  const absl::Time deadline = absl::Now() + absl::Milliseconds(500);
  auto r = store->RotateSession(RotateRequestFor(token, now), deadline);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LE(absl::Now(), deadline + absl::Milliseconds(200));
  hold.abort();

  // Nothing was written, and the single pooled connection works again.
  auto again = store->RotateSession(RotateRequestFor(token, now), Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(again->session.generation, 1);
}

// A backend terminated mid-session is replaced on the next call.
TEST(PgFaultsTest, TerminatedBackendIsReplaced) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  ASSERT_TRUE(store->Ping(Deadline()).ok());
  ASSERT_TRUE(PostgresEnvironment::Get()
                  .Psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'token-server'")
                  .ok());
  // The first call may notice the loss; the pool must heal by itself.
  EXPECT_TRUE(PollUntil([&] { return store->Ping(absl::Now() + absl::Seconds(1)).ok(); },
                        absl::Seconds(10)));
}

class RecordingFeed {
 public:
  RecordingFeed() {
    feed_ = std::make_unique<PgRevocationFeed>(
        MigratedConninfo(), absl::Minutes(20), absl::Seconds(30), clock_,
        PgRevocationFeed::Callbacks{
            .on_snapshot =
                [this](const RevocationSnapshot& s) {
                  absl::MutexLock lock(&mu_);
                  ++snapshots_;
                  in_sync_ = true;
                  for (const auto& [id, at] : s.sessions) sessions_.insert(id);
                },
            .on_session =
                [this](const std::string& id, absl::Time) {
                  absl::MutexLock lock(&mu_);
                  sessions_.insert(id);
                },
            .on_subject =
                [this](const std::string& subject, absl::Time) {
                  absl::MutexLock lock(&mu_);
                  subjects_.insert(subject);
                },
            .on_lost =
                [this] {
                  absl::MutexLock lock(&mu_);
                  in_sync_ = false;
                },
            .is_valid_subject =
                [](absl::string_view subject) { return ValidateSubject(subject).ok(); },
        });
    feed_->Start();
  }
  bool HasSession(const std::string& id) {
    absl::MutexLock lock(&mu_);
    return sessions_.contains(id);
  }
  bool HasSubject(const std::string& subject) {
    absl::MutexLock lock(&mu_);
    return subjects_.contains(subject);
  }
  bool in_sync() {
    absl::MutexLock lock(&mu_);
    return in_sync_;
  }
  int snapshots() {
    absl::MutexLock lock(&mu_);
    return snapshots_;
  }

 private:
  RealClock clock_;
  absl::Mutex mu_;
  std::set<std::string> sessions_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> subjects_ ABSL_GUARDED_BY(mu_);
  bool in_sync_ ABSL_GUARDED_BY(mu_) = false;
  int snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<PgRevocationFeed> feed_;
};

// Revocations reach a listening replica through NOTIFY within a second.
TEST(PgFaultsTest, FeedDeliversRevocationsWithinOneSecond) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  RecordingFeed feed;
  ASSERT_TRUE(PollUntil([&] { return feed.in_sync(); }, absl::Seconds(10)));
  const absl::Time now = MicrosNow();
  RefreshToken token;
  NewSession s = NewSessionFor("feed", now, &token);
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());

  ASSERT_TRUE(*store->RevokeSession(s.session_id, "", now, Deadline(), nullptr));
  EXPECT_TRUE(PollUntil([&] { return feed.HasSession(s.session_id); }, absl::Seconds(1)));
  ASSERT_TRUE(
      store->RevokeSubject("feed subject with spaces", "", now, std::nullopt, Deadline()).ok());
  EXPECT_TRUE(
      PollUntil([&] { return feed.HasSubject("feed subject with spaces"); }, absl::Seconds(1)));
}

// A feed that loses the database reports it, and on reconnect reloads what
// it missed from the tables.
TEST(PgFaultsTest, FeedResynchronisesAfterOutage) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  RecordingFeed feed;
  ASSERT_TRUE(PollUntil([&] { return feed.in_sync(); }, absl::Seconds(10)));
  const absl::Time now = MicrosNow();
  RefreshToken token;
  NewSession s = NewSessionFor("missed", now, &token);
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());

  PostgresServer& pg = PostgresEnvironment::Mutable();
  ASSERT_TRUE(pg.StopImmediate().ok());
  EXPECT_TRUE(PollUntil([&] { return !feed.in_sync(); }, absl::Seconds(10)));
  ASSERT_TRUE(pg.Restart().ok());
  // Revoked while the feed was (still) disconnected: no NOTIFY reaches it.
  ASSERT_TRUE(PollUntil(
      [&] {
        auto r =
            store->RevokeSession(s.session_id, "", now, absl::Now() + absl::Seconds(1), nullptr);
        return r.ok();
      },
      absl::Seconds(20)));
  EXPECT_TRUE(PollUntil([&] { return feed.in_sync() && feed.HasSession(s.session_id); },
                        absl::Seconds(20)));
  EXPECT_GE(feed.snapshots(), 2);
}

}  // namespace
}  // namespace token::testing
