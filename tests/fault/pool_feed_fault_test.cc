// Focused regression tests for what the fault scenarios found in the
// connection pool and the revocation feed (docs/RELIABILITY.md, "Bugs
// found"). Deterministic: each provokes one interleaving directly.
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/common/clock.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/store/pg_pool.h"
#include "server/store/pg_revocation_feed.h"
#include "tests/harness/poll.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

absl::Status Exec(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction tx(c);
  tx.exec(sql);
  return absl::OkStatus();
}

// The watchdog's first cancel can reach the backend before the statement
// does (the caller was descheduled, or the statement is the second of a
// transaction); the backend ignores it. The statement must still be stopped
// near the deadline, not run for its full five seconds.
TEST(PoolFaultTest, StatementStartedAfterTheCancelIsStillCancelled) {
  PgPool pool({.conninfo = MigratedConninfo(), .size = 1});
  ASSERT_TRUE(pool.Run("warm", absl::Now() + absl::Seconds(5),
                       [](pqxx::connection& c) { return Exec(c, "SELECT 1"); })
                  .ok());
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + absl::Milliseconds(300);
  absl::Status status = pool.Run("late", deadline, [&](pqxx::connection& c) {
    // Idle on the connection until past the cancel point (deadline - 20 ms).
    absl::SleepFor(deadline - absl::Milliseconds(5) - absl::Now());
    return Exec(c, "SELECT pg_sleep(5)");
  });
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_LT(took, absl::Seconds(1));
  // The pool still works.
  EXPECT_TRUE(pool.Run("after", absl::Now() + absl::Seconds(5),
                       [](pqxx::connection& c) { return Exec(c, "SELECT 1"); })
                  .ok());
}

// A call that gets its connection already past the cancel point does not
// start a statement at all (it would be cancelled at once, or not at all).
TEST(PoolFaultTest, NoStatementStartsPastTheCancelPoint) {
  PgPool pool(
      {.conninfo = MigratedConninfo(), .size = 1, .deadline_margin = absl::Milliseconds(200)});
  bool ran = false;
  absl::Status status =
      pool.Run("too late", absl::Now() + absl::Milliseconds(100), [&](pqxx::connection& c) {
        ran = true;
        return Exec(c, "SELECT 1");
      });
  EXPECT_FALSE(ran);
  EXPECT_EQ(ReasonOf(status), ErrorReason::DEADLINE_EXCEEDED) << status;
}

// After PostgreSQL restarts, idle pooled connections are dead. Once one call
// succeeds again (readiness), calls on the other connections succeed too.
TEST(PoolFaultTest, IdleConnectionsAreReplacedAfterDatabaseRestart) {
  constexpr int kSize = 4;
  PgPool pool({.conninfo = MigratedConninfo(), .size = kSize});
  auto all_at_once = [&](const std::string& sql) {
    std::vector<absl::Status> statuses(kSize);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSize; ++i) {
      threads.emplace_back([&, i] {
        statuses[i] = pool.Run("parallel", absl::Now() + absl::Seconds(5),
                               [&](pqxx::connection& c) { return Exec(c, sql); });
      });
    }
    for (auto& t : threads) t.join();
    return statuses;
  };
  // Open every connection: four statements that overlap.
  for (const absl::Status& s : all_at_once("SELECT pg_sleep(0.3)")) ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(pool.stats().connected, kSize);

  PostgresServer& pg = PostgresEnvironment::Mutable();
  ASSERT_TRUE(pg.StopImmediate().ok());
  ASSERT_TRUE(pg.Restart().ok());
  ASSERT_TRUE(PollUntil(
      [&] {
        return pool
            .Run("ping", absl::Now() + absl::Seconds(1),
                 [](pqxx::connection& c) { return Exec(c, "SELECT 1"); })
            .ok();
      },
      absl::Seconds(20)));
  int failed = 0;
  for (const absl::Status& s : all_at_once("SELECT pg_sleep(0.1)")) failed += s.ok() ? 0 : 1;
  EXPECT_EQ(failed, 0) << "calls failed on connections that died while idle";
}

// A backend that dies mid-statement in a PostgreSQL crash (immediate
// shutdown) warns and drops the socket: libpq then reports the loss without
// an SQLSTATE. That is a lost connection —
// UNAVAILABLE, the connection replaced — not a failed statement worth an
// error-level log line.
TEST(PoolFaultTest, BackendDyingMidStatementIsALostConnection) {
  std::vector<std::string> errors;
  absl::Mutex log_mu;
  SetLogSinkForTest([&](const std::string& line) {
    absl::MutexLock lock(&log_mu);
    if (line.find("\"level\":\"error\"") != std::string::npos) errors.push_back(line);
  });
  PgPool pool({.conninfo = MigratedConninfo(),
               .size = 1,
               .statements = {{"sleep", "SELECT pg_sleep($1)"}}});
  std::atomic<int> pid{0};
  absl::Status status;
  std::thread victim([&] {
    status = pool.Run("victim", absl::Now() + absl::Seconds(20), [&](pqxx::connection& c) {
      pqxx::work tx(c, "victim");
      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      tx.exec_prepared("sleep", 10);
      tx.commit();
      return absl::OkStatus();
    });
  });
  ASSERT_TRUE(PollUntil([&] { return pid.load() != 0; }, absl::Seconds(10)));
  // The crash must land inside the sleeping statement.
  pqxx::connection observer(MigratedConninfo());
  ASSERT_TRUE(PollUntil(
      [&] {
        pqxx::nontransaction q(observer);
        return q.exec_params1(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
                    "state = 'active' AND query LIKE '%pg_sleep%'",
                    pid.load())[0]
                   .as<int>() == 1;
      },
      absl::Seconds(10)));
  PostgresServer& pg = PostgresEnvironment::Mutable();
  ASSERT_TRUE(pg.StopImmediate().ok());
  victim.join();
  ASSERT_TRUE(pg.Restart().ok());
  SetLogSinkForTest(nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(ReasonOf(status), ErrorReason::DATABASE_UNAVAILABLE) << status;
  EXPECT_TRUE(errors.empty()) << errors.front();
  // The pool follows the restarted server.
  EXPECT_TRUE(PollUntil(
      [&] {
        return pool
            .Run("after", absl::Now() + absl::Seconds(1),
                 [](pqxx::connection& c) { return Exec(c, "SELECT 1"); })
            .ok();
      },
      absl::Seconds(30)));
}

// The feed reconnects as promptly after its fifth loss as after its first:
// a feed that was in sync starts again from the shortest wait.
TEST(FeedFaultTest, ReconnectsPromptlyAfterRepeatedLosses) {
  RealClock clock;
  absl::Mutex mu;
  int snapshots = 0;
  PgRevocationFeed feed(MigratedConninfo(), absl::Hours(1), absl::Seconds(30), clock,
                        {.on_snapshot =
                             [&](const RevocationSnapshot&) {
                               absl::MutexLock lock(&mu);
                               ++snapshots;
                             },
                         .on_session = [](const std::string&, absl::Time) {},
                         .on_subject = [](const std::string&, absl::Time) {},
                         .on_lost = [] {},
                         .is_valid_subject = [](absl::string_view) { return true; }});
  feed.Start();
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return snapshots;
  };
  ASSERT_TRUE(PollUntil([&] { return count() == 1; }, absl::Seconds(10)));
  absl::Duration worst = absl::ZeroDuration();
  for (int loss = 1; loss <= 6; ++loss) {
    const int before = count();
    const absl::Time cut = absl::Now();
    ASSERT_TRUE(PostgresEnvironment::Get()
                    .Psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'token-server-feed'")
                    .ok());
    ASSERT_TRUE(PollUntil([&] { return count() > before; }, absl::Seconds(10))) << loss;
    worst = std::max(worst, absl::Now() - cut);
  }
  // The first reconnect waits 100 ms; psql itself takes some of the rest.
  EXPECT_LT(worst, absl::Seconds(1)) << "worst resync after a loss: " << worst;
}

}  // namespace
}  // namespace token::testing
