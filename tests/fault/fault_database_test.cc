// Database faults under a mixed load (docs/RELIABILITY.md): PostgreSQL
// stopped hard and restarted, backends terminated mid-transaction, and a slow
// database (a held table lock, then statements that sleep). One binary: these
// tests stop the shared throwaway cluster.
#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/fault/scenario.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing::fault {
namespace {

// Calls that failed although they started well after the service was ready
// again: a healed fault must not leave errors behind.
bool FailedNotReplay(const CallRecord& r, const std::string&) {
  return r.code != grpc::OK && r.kind != CallKind::kReplay;
}

bool TransientFailure(const CallRecord& r, const std::string&) {
  return r.code == grpc::UNAVAILABLE || r.code == grpc::DEADLINE_EXCEEDED;
}

// The load both database-outage scenarios run: 12 clients, 2 s deadlines,
// and 1 % deliberate replays so that reuse detection is exercised too.
DriverOptions DatabaseFaultLoad(const Scenario& scenario) {
  DriverOptions options = scenario.DriverDefaults();
  options.clients = 12;
  options.call_timeout = absl::Seconds(2);
  options.replay_percent = 1;
  return options;
}

// PostgreSQL stopped with `pg_ctl -m immediate` (a crash: every connection
// cut at once, in-flight transactions lost) and started again, mid-load.
TEST(FaultDatabase, PostgresImmediateRestartMidLoad) {
  Scenario scenario("restart");
  TokenServerProcess* server = scenario.StartServer({"--db-pool-size=4"});
  ASSERT_NE(server, nullptr);
  LoadDriver driver(DatabaseFaultLoad(scenario), scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();

  PostgresServer& pg = PostgresEnvironment::Mutable();
  const int cycles = ShortOrLong(1, 5);
  const absl::Duration outage = ShortOrLong(absl::Seconds(3), absl::Seconds(10));
  const absl::Duration between = ShortOrLong(absl::Seconds(3), absl::Seconds(15));
  absl::Duration worst_ready = absl::ZeroDuration();
  int64_t errors_after_ready = 0;
  int64_t outage_calls = 0, outage_ok = 0;
  absl::Duration outage_failure_p99 = absl::ZeroDuration();
  absl::SleepFor(between);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    const absl::Time stop_at = absl::Now();
    ASSERT_TRUE(pg.StopImmediate().ok());
    absl::SleepFor(outage);
    const absl::Status restarted = pg.Restart();
    ASSERT_TRUE(restarted.ok()) << restarted;
    const absl::Time db_back = absl::Now();
    std::optional<absl::Duration> ready = WaitReady(*server, absl::Seconds(30));
    ASSERT_TRUE(ready.has_value()) << "not ready 30 s after the database came back";
    worst_ready = std::max(worst_ready, *ready);
    const absl::Time ready_at = db_back + *ready;
    absl::SleepFor(between);
    // Errors are expected from the stop until readiness (and for calls that
    // started just before it); a second after readiness there must be none.
    errors_after_ready +=
        scenario.ledger().log().Count(ready_at + absl::Seconds(1), absl::Now(), FailedNotReplay);
    outage_calls += scenario.ledger().log().Count(
        stop_at, db_back, [](const CallRecord&, const std::string&) { return true; });
    outage_ok += scenario.ledger().log().Count(
        stop_at, db_back,
        [](const CallRecord& r, const std::string&) { return r.code == grpc::OK; });
    outage_failure_p99 =
        std::max(outage_failure_p99,
                 scenario.ledger().log().Quantile(0.99, stop_at, db_back, TransientFailure));
  }
  driver.Stop();
  const CallLog::Summary summary = scenario.ledger().log().Summarize(load_start);

  Report& report = scenario.report();
  report.Add("faults_injected", absl::StrCat(cycles, " immediate stops of PostgreSQL, ",
                                             absl::FormatDuration(outage), " down each"));
  report.Add("calls_during_outages", outage_calls);
  report.Add("ok_during_outages (VerifyAccess, or finished before the stop)", outage_ok);
  report.AddSeconds("failure_latency_p99_during_outage_s", outage_failure_p99);
  report.AddSeconds("worst_ready_after_database_back_s", worst_ready);
  report.Add("errors_later_than_1s_after_ready", errors_after_ready);
  EXPECT_LE(worst_ready, absl::Seconds(10));
  EXPECT_EQ(errors_after_ready, 0);
  scenario.Finish(server->grpc_address(), summary);
}

// The server's connections terminated (pg_terminate_backend) while their
// transactions run: every UPDATE sleeps a little, so most kills land inside
// a transaction, some during COMMIT.
TEST(FaultDatabase, BackendsTerminatedMidTransaction) {
  Scenario scenario("terminate");
  TokenServerProcess* server = scenario.StartServer({"--db-pool-size=4"});
  ASSERT_NE(server, nullptr);
  InstallDelayTrigger(scenario.conninfo());
  SetDelay(scenario.conninfo(), 20);
  LoadDriver driver(DatabaseFaultLoad(scenario), scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();
  absl::SleepFor(absl::Seconds(1));

  const std::string admin = PostgresEnvironment::Get().conninfo();
  const absl::Time faults_end = absl::Now() + ShortOrLong(absl::Seconds(5), absl::Seconds(60));
  int64_t killed = 0, kill_rounds = 0;
  while (absl::Now() < faults_end) {
    // Mostly backends inside a statement or transaction; every fourth round
    // all of them, the revocation feed's included.
    const bool all = kill_rounds % 4 == 3;
    auto rows = QueryRows(
        admin, absl::StrCat("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = '",
                            scenario.dbname(), "' AND application_name LIKE 'token-server%'",
                            all ? "" : " AND state <> 'idle'"));
    if (rows.ok() && !rows->empty()) killed += std::stoll((*rows)[0][0]);
    ++kill_rounds;
    absl::SleepFor(absl::Milliseconds(150));
  }
  SetDelay(scenario.conninfo(), 0);
  const absl::Time healed = absl::Now();
  std::optional<absl::Duration> ready = WaitReady(*server, absl::Seconds(30));
  ASSERT_TRUE(ready.has_value());
  const absl::Time ready_at = healed + *ready;
  absl::SleepFor(ShortOrLong(absl::Seconds(3), absl::Seconds(10)));
  driver.Stop();
  const CallLog::Summary summary = scenario.ledger().log().Summarize(load_start);
  const int64_t errors_after_ready =
      scenario.ledger().log().Count(ready_at + absl::Seconds(1), absl::Now(), FailedNotReplay);

  Report& report = scenario.report();
  report.Add("faults_injected",
             absl::StrCat(killed, " backends terminated in ", kill_rounds, " rounds"));
  report.AddSeconds("ready_after_last_kill_s", *ready);
  report.Add("errors_later_than_1s_after_ready", errors_after_ready);
  EXPECT_GT(killed, 0);
  EXPECT_EQ(errors_after_ready, 0);
  scenario.Finish(server->grpc_address(), summary);
}

// The longest-running statement of the server's pooled connections right
// now: its age and what it is (for the report when it is too old).
struct Statement {
  absl::Duration age;
  std::string what;
};
Statement OldestStatement(const std::string& admin, const std::string& dbname) {
  auto rows = QueryRows(
      admin, absl::StrCat("SELECT extract(epoch FROM clock_timestamp() - query_start), "
                          "coalesce(wait_event_type, '') || '/' || coalesce(wait_event, ''), "
                          "left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
                          "FROM pg_stat_activity WHERE datname = '",
                          dbname,
                          "' AND application_name = 'token-server' AND state = 'active' "
                          "ORDER BY query_start LIMIT 1"));
  double seconds = 0;
  if (!rows.ok() || rows->empty() || !absl::SimpleAtod((*rows)[0][0], &seconds)) return {};
  return {absl::Seconds(seconds), absl::StrCat((*rows)[0][1], " ", (*rows)[0][2])};
}

// A slow database: first the sessions table locked by another transaction,
// then every row write sleeping far longer than the callers' deadlines, then
// slow but within them. Every statement is cancelled at its caller's
// deadline, the pool does not deadlock, and nothing leaks.
TEST(FaultDatabase, SlowDatabaseHonoursDeadlines) {
  Scenario scenario("slow");
  constexpr int kPool = 4;
  TokenServerProcess* server = scenario.StartServer({absl::StrCat("--db-pool-size=", kPool)});
  ASSERT_NE(server, nullptr);
  InstallDelayTrigger(scenario.conninfo());
  const absl::Duration call_timeout = absl::Seconds(1);
  DriverOptions options = scenario.DriverDefaults();
  options.clients = 12;
  options.call_timeout = call_timeout;
  LoadDriver driver(options, scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();
  absl::SleepFor(absl::Seconds(1));
  // Warm: every pooled connection and the load's gRPC connections are open.
  const int64_t fds_before = OpenFds(server->process().pid());

  const std::string admin = PostgresEnvironment::Get().conninfo();
  const absl::Duration phase = ShortOrLong(absl::Seconds(4), absl::Seconds(20));
  absl::Duration oldest = absl::ZeroDuration();
  std::string oldest_what;
  auto watch = [&](absl::Duration how_long, const std::string& phase) {
    const absl::Time end = absl::Now() + how_long;
    while (absl::Now() < end) {
      Statement statement = OldestStatement(admin, scenario.dbname());
      if (statement.age > oldest) {
        oldest = statement.age;
        oldest_what = absl::StrCat(phase, ": ", statement.what);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  };

  // 1. LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE, held by a transaction.
  {
    std::atomic<bool> locked{false}, release{false};
    std::thread holder([&] {
      pqxx::connection conn(scenario.conninfo() + " application_name=fault-lock-holder");
      pqxx::work tx(conn);
      tx.exec("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE");
      locked = true;
      while (!release) absl::SleepFor(absl::Milliseconds(20));
      tx.commit();
    });
    ASSERT_TRUE(PollUntil([&] { return locked.load(); }, absl::Seconds(10)));
    watch(phase, "table locked");
    release = true;
    holder.join();
  }
  // 2. Every row write sleeps 5 s: each statement outlives its deadline
  // unless it is cancelled.
  SetDelay(scenario.conninfo(), 5000);
  watch(phase, "writes sleeping 5000 ms");
  // 3. Slow, but within the deadline when not queued behind others.
  SetDelay(scenario.conninfo(), 100);
  watch(phase, "writes sleeping 100 ms");
  SetDelay(scenario.conninfo(), 0);
  const absl::Time healed = absl::Now();
  std::optional<absl::Duration> ready = WaitReady(*server, absl::Seconds(30));
  ASSERT_TRUE(ready.has_value());
  absl::SleepFor(ShortOrLong(absl::Seconds(2), absl::Seconds(10)));
  driver.Stop();
  const CallLog::Summary summary = scenario.ledger().log().Summarize(load_start);
  const int64_t errors_after_heal = scenario.ledger().log().Count(
      healed + *ready + absl::Seconds(1), absl::Now(), FailedNotReplay);
  // Who ended the failed calls: the server, cancelling its statement before
  // the deadline (UNAVAILABLE / DATABASE_UNAVAILABLE), or the caller's own
  // deadline (DEADLINE_EXCEEDED without a reason: queued behind others).
  const int64_t server_cancelled = scenario.ledger().log().Count(
      load_start, absl::Now(), [](const CallRecord& r, const std::string& reason) {
        return r.code == grpc::UNAVAILABLE && reason == "DATABASE_UNAVAILABLE";
      });
  const int64_t caller_deadline = scenario.ledger().log().Count(
      load_start, absl::Now(),
      [](const CallRecord& r, const std::string&) { return r.code == grpc::DEADLINE_EXCEEDED; });

  // Nothing leaks: the pool is idle again, holds at most its size, no
  // transaction is left open, and the process has no more descriptors.
  absl::SleepFor(absl::Milliseconds(500));
  const std::string metrics = server->HttpGet("/metrics").body;
  const double in_use = MetricValue(metrics, "token_db_pool_in_use");
  const double queued = MetricValue(metrics, "token_worker_queue");
  absl::StatusOr<int64_t> connections = ServerConnections(admin, scenario.dbname());
  auto open_transactions =
      QueryValue(admin, absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = '",
                                     scenario.dbname(),
                                     "' AND application_name LIKE 'token-server%' "
                                     "AND state LIKE 'idle in transaction%'"));
  const int64_t fds_after = OpenFds(server->process().pid());

  Report& report = scenario.report();
  report.Add("faults_injected",
             absl::StrCat("sessions table locked ", absl::FormatDuration(phase),
                          "; row writes sleeping 5 s for ", absl::FormatDuration(phase),
                          "; 100 ms for ", absl::FormatDuration(phase)));
  report.AddSeconds("call_deadline_s", call_timeout);
  report.AddSeconds("oldest_server_statement_seen_s", oldest);
  report.Add("oldest_server_statement_was", oldest_what);
  report.Add("failed_by_server_cancel_before_deadline", server_cancelled);
  report.Add("failed_by_caller_deadline", caller_deadline);
  report.Add("errors_later_than_1s_after_heal", errors_after_heal);
  report.Add("pool_in_use_after", static_cast<int64_t>(in_use));
  report.Add("worker_queue_after", static_cast<int64_t>(queued));
  report.Add("server_connections_after", connections.value_or(-1));
  report.Add("server_fds_before_after", absl::StrCat(fds_before, " ", fds_after));
  // The watchdog cancels at the deadline (less a margin) and again every
  // 100 ms; each cancel costs PostgreSQL a process start, which a loaded
  // 2-core machine can delay by hundreds of milliseconds. An uncancelled
  // statement would reach the lock hold (4 s) or the sleep (5 s).
  EXPECT_LE(oldest, call_timeout + absl::Milliseconds(1500)) << oldest_what;
  EXPECT_EQ(errors_after_heal, 0);
  EXPECT_EQ(in_use, 0);
  EXPECT_EQ(queued, 0);
  ASSERT_TRUE(connections.ok()) << connections.status();
  EXPECT_LE(*connections, kPool + 1);
  EXPECT_EQ(open_transactions.value_or("?"), "0");
  EXPECT_LE(fds_after, fds_before + 4);
  scenario.Finish(server->grpc_address(), summary);
}

}  // namespace
}  // namespace token::testing::fault
