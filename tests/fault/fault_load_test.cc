// The server itself under stress (docs/RELIABILITY.md): overload far past
// capacity, SIGTERM under load, and a bounded soak.
#include <signal.h>

#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fault/scenario.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing::fault {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

bool Ok(const CallRecord& r, const std::string&) { return r.code == grpc::OK; }

// Answers that did the work a client came for (not VerifyAccess, which never
// waits for a worker).
bool OkWork(const CallRecord& r, const std::string&) {
  return r.code == grpc::OK && r.kind != CallKind::kVerify;
}

std::string Mib(int64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / kMiB); }

// Far more concurrent callers than --db-pool-size=2 workers and
// --max-pending-calls=16 queue slots: the excess is refused at once with
// RESOURCE_EXHAUSTED, queue and memory stay bounded, and throughput comes
// back when the load drops.
TEST(FaultLoad, OverloadIsRefusedQuicklyAndRecovers) {
  Scenario scenario("overload");
  constexpr int kQueue = 16;
  TokenServerProcess* server =
      scenario.StartServer({"--db-pool-size=2", absl::StrCat("--max-pending-calls=", kQueue)});
  ASSERT_NE(server, nullptr);
  const pid_t pid = server->process().pid();
  const absl::Time scenario_start = absl::Now();

  DriverOptions normal = scenario.DriverDefaults();
  normal.clients = 4;
  normal.think = absl::ZeroDuration();
  normal.overload_expected = true;  // the tail of the overload may still be queued
  auto measure = [&](const std::string& prefix, absl::Duration how_long) {
    DriverOptions options = normal;
    options.subject_prefix = prefix;
    LoadDriver driver(options, scenario.ledger());
    const absl::Time start = absl::Now();
    driver.Start();
    absl::SleepFor(how_long);
    driver.Stop();
    const absl::Time end = absl::Now();
    return std::make_pair(start, end);
  };
  const absl::Duration quiet = ShortOrLong(absl::Seconds(3), absl::Seconds(10));
  const auto [base_start, base_end] = measure("before", quiet);
  const double baseline = scenario.ledger().log().Count(base_start, base_end, OkWork) /
                          absl::ToDoubleSeconds(base_end - base_start);
  const int64_t rss_before = ResidentBytes(pid);

  DriverOptions heavy = scenario.DriverDefaults();
  heavy.clients = ShortOrLong(256, 512);
  heavy.channels_per_target = 16;
  heavy.think = absl::ZeroDuration();
  heavy.backoff = absl::Milliseconds(5);
  heavy.verify_percent = 10;
  heavy.overload_expected = true;
  heavy.subject_prefix = "heavy";
  int64_t rss_peak = rss_before;
  double queue_peak = 0;
  int readyz_samples = 0, readyz_not_ready = 0;
  absl::Time heavy_start, heavy_end;
  {
    LoadDriver driver(heavy, scenario.ledger());
    heavy_start = absl::Now();
    driver.Start();
    const absl::Time end = heavy_start + ShortOrLong(absl::Seconds(6), absl::Seconds(30));
    while (absl::Now() < end) {
      rss_peak = std::max(rss_peak, ResidentBytes(pid));
      queue_peak =
          std::max(queue_peak, MetricValue(server->HttpGet("/metrics").body, "token_worker_queue"));
      ++readyz_samples;
      if (server->HttpGet("/readyz").status != 200) ++readyz_not_ready;
      absl::SleepFor(absl::Milliseconds(100));
    }
    driver.Stop();
    heavy_end = absl::Now();
  }
  const auto [after_start, after_end] = measure("after", quiet);
  const double recovered = scenario.ledger().log().Count(after_start, after_end, OkWork) /
                           absl::ToDoubleSeconds(after_end - after_start);
  // Once the overload is over (a second to drain), nothing fails.
  const int64_t errors_after =
      scenario.ledger().log().Count(after_start + absl::Seconds(1), after_end, Failed);

  const CallLog& log = scenario.ledger().log();
  const CallLog::Summary overload = log.Summarize(heavy_start, heavy_end);
  auto exhausted = [](const CallRecord& r, const std::string&) {
    return r.code == grpc::RESOURCE_EXHAUSTED;
  };
  const int64_t refused = log.Count(heavy_start, heavy_end, exhausted);
  const absl::Duration refuse_p50 = log.Quantile(0.5, heavy_start, heavy_end, exhausted);
  const absl::Duration refuse_p99 = log.Quantile(0.99, heavy_start, heavy_end, exhausted);
  const absl::Duration ok_p99 = log.Quantile(0.99, heavy_start, heavy_end, OkWork);
  const double overload_ok_rate =
      log.Count(heavy_start, heavy_end, OkWork) / absl::ToDoubleSeconds(heavy_end - heavy_start);

  Report& report = scenario.report();
  report.Add("faults_injected",
             absl::StrCat(heavy.clients, " closed-loop callers on ", heavy.channels_per_target,
                          " connections against 2 workers + ", kQueue, " queue slots for ",
                          absl::FormatDuration(
                              absl::Trunc(heavy_end - heavy_start, absl::Milliseconds(100)))));
  report.AddSummary(overload, "overload_");
  report.Add("overload_refused_resource_exhausted", refused);
  report.AddSeconds("overload_refusal_latency_p50_s", refuse_p50);
  report.AddSeconds("overload_refusal_latency_p99_s", refuse_p99);
  report.AddSeconds("overload_ok_latency_p99_s", ok_p99);
  report.Add("worker_queue_peak", static_cast<int64_t>(queue_peak));
  report.Add("rss_before_peak", absl::StrCat(Mib(rss_before), " ", Mib(rss_peak)));
  report.Add("readyz_not_ready_during_overload",
             absl::StrCat(readyz_not_ready, " of ", readyz_samples, " samples"));
  report.Add("ok_per_s_before_during_after",
             absl::StrFormat("%.0f %.0f %.0f", baseline, overload_ok_rate, recovered));
  report.Add("errors_after_overload", errors_after);

  EXPECT_GT(refused, 0) << "the load never exceeded capacity";
  EXPECT_LE(queue_peak, kQueue);
  // Refusals do no work: they come back at once, not after a queue wait
  // (what latency they have is the 256 callers sharing the CPU).
  EXPECT_LE(refuse_p50, absl::Milliseconds(Sanitized() ? 300 : 100));
  // A sanitizer's shadow memory and quarantine make RSS meaningless.
  if (!Sanitized()) {
    EXPECT_LE(rss_peak - rss_before, static_cast<int64_t>(64 * kMiB));
  }
  EXPECT_GE(recovered, 0.5 * baseline);
  EXPECT_EQ(errors_after, 0);
  scenario.Finish(server->grpc_address(), log.Summarize(scenario_start));
}

// SIGTERM while calls are in flight (each row write takes 200 ms, so a few
// are always inside a transaction and more are queued): those finish, new
// calls are refused, the process exits 0 within --drain-timeout. A new
// server on the same database then finds every family intact.
TEST(FaultLoad, SigtermDrainsInFlightCallsUnderLoad) {
  Scenario scenario("sigterm");
  const absl::Duration drain = absl::Seconds(5);
  const std::vector<std::string> flags = {"--db-pool-size=4",
                                          "--drain-timeout=" + absl::FormatDuration(drain)};
  TokenServerProcess* server = scenario.StartServer(flags);
  ASSERT_NE(server, nullptr);
  InstallDelayTrigger(scenario.conninfo());
  SetDelay(scenario.conninfo(), 200);
  DriverOptions options = scenario.DriverDefaults();
  options.clients = 16;
  options.call_timeout = absl::Seconds(4);
  LoadDriver driver(options, scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();
  absl::SleepFor(ShortOrLong(absl::Seconds(2), absl::Seconds(10)));

  const absl::Time signalled = absl::Now();
  ASSERT_TRUE(server->process().Signal(SIGTERM).ok());
  absl::StatusOr<int> exit_code = server->process().WaitForExit(drain + absl::Seconds(10));
  const absl::Time exited = absl::Now();
  absl::SleepFor(absl::Milliseconds(500));
  driver.Stop();
  SetDelay(scenario.conninfo(), 0);
  const CallLog& log = scenario.ledger().log();
  const CallLog::Summary summary = log.Summarize(load_start);

  // Calls that started before the signal were in the server (running or
  // queued): each must have been answered, not cut.
  const int64_t in_flight = log.Count(
      signalled - options.call_timeout, signalled, [&](const CallRecord& r, const std::string&) {
        return log.epoch() + absl::Microseconds(r.start_us) + absl::Microseconds(r.latency_us) >
               signalled;
      });
  const int64_t in_flight_cut =
      log.Count(signalled - options.call_timeout, signalled - absl::Milliseconds(20), Failed);
  // Calls that started after the server had begun draining.
  const int64_t later = log.Count(signalled + absl::Milliseconds(200), exited,
                                  [](const CallRecord&, const std::string&) { return true; });
  const int64_t later_ok = log.Count(signalled + absl::Milliseconds(200), exited, Ok);

  Report& report = scenario.report();
  report.Add("faults_injected", "1 SIGTERM under load (16 callers, 200 ms per row write)");
  report.Add("exit_code", exit_code.ok() ? absl::StrCat(*exit_code) : "still running");
  report.AddSeconds("exit_after_sigterm_s", exited - signalled);
  report.AddSeconds("drain_timeout_s", drain);
  report.Add("calls_in_flight_at_sigterm", in_flight);
  report.Add("in_flight_calls_cut", in_flight_cut);
  report.Add("calls_started_while_draining", later);
  report.Add("calls_started_while_draining_answered_ok", later_ok);
  ASSERT_TRUE(exit_code.ok()) << "token-server did not exit";
  EXPECT_EQ(*exit_code, 0);
  // (A sanitized server also scans for leaks on its way out.)
  EXPECT_LE(exited - signalled, drain + absl::Seconds(Sanitized() ? 5 : 1));
  EXPECT_GT(in_flight, 0);
  EXPECT_EQ(in_flight_cut, 0);
  EXPECT_EQ(later_ok, 0);

  // The next server (same database, same keys) sees every family intact.
  TokenServerProcess* next = scenario.StartServer(flags);
  ASSERT_NE(next, nullptr);
  scenario.Finish(next->grpc_address(), summary);
}

// Minutes of steady load (bounded): resident memory, database connections
// and descriptors stay flat once warmed up.
TEST(FaultLoad, SoakKeepsMemoryAndConnectionsFlat) {
  Scenario scenario("soak");
  constexpr int kPool = 4;
  TokenServerProcess* server = scenario.StartServer({absl::StrCat("--db-pool-size=", kPool)});
  ASSERT_NE(server, nullptr);
  const pid_t pid = server->process().pid();
  DriverOptions options = scenario.DriverDefaults();
  options.clients = 8;
  options.think = absl::Milliseconds(2);
  options.verify_percent = 30;
  options.issue_percent = 1;
  options.replay_percent = 1;
  LoadDriver driver(options, scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();

  const absl::Duration duration = ShortOrLong(absl::Seconds(30), absl::Minutes(5));
  const absl::Duration interval = ShortOrLong(absl::Seconds(1), absl::Seconds(5));
  const absl::Duration warmup = std::max(absl::Seconds(8), duration / 4);
  struct Sample {
    absl::Duration at;
    int64_t rss, connections, fds;
  };
  std::vector<Sample> samples;
  const std::string admin = PostgresEnvironment::Get().conninfo();
  while (absl::Now() - load_start < duration) {
    absl::SleepFor(interval);
    samples.push_back({absl::Now() - load_start, ResidentBytes(pid),
                       ServerConnections(admin, scenario.dbname()).value_or(-1), OpenFds(pid)});
  }
  driver.Stop();
  const CallLog::Summary summary = scenario.ledger().log().Summarize(load_start);

  std::vector<Sample> steady;
  for (const Sample& s : samples) {
    if (s.at >= warmup) steady.push_back(s);
  }
  ASSERT_GE(steady.size(), 6u);
  const size_t third = steady.size() / 3;
  auto mean_rss = [&](size_t from, size_t to) {
    double sum = 0;
    for (size_t i = from; i < to; ++i) sum += steady[i].rss;
    return sum / static_cast<double>(to - from);
  };
  const double first = mean_rss(0, third);
  const double last = mean_rss(steady.size() - third, steady.size());
  int64_t rss_min = INT64_MAX, rss_max = 0, conn_min = INT64_MAX, conn_max = 0, fd_min = INT64_MAX,
          fd_max = 0;
  for (const Sample& s : steady) {
    rss_min = std::min(rss_min, s.rss);
    rss_max = std::max(rss_max, s.rss);
    conn_min = std::min(conn_min, s.connections);
    conn_max = std::max(conn_max, s.connections);
    fd_min = std::min(fd_min, s.fds);
    fd_max = std::max(fd_max, s.fds);
  }
  // Tolerance: allocator arenas and gRPC's per-connection buffers settle in
  // steps of a few MiB; a leak of even 100 bytes per call would add tens of
  // MiB over the calls made here.
  const double tolerance = std::max(8 * kMiB, 0.05 * first);

  Report& report = scenario.report();
  report.AddSeconds("soak_duration_s", duration);
  report.AddSeconds("warmup_s", warmup);
  report.Add("samples_after_warmup", static_cast<int64_t>(steady.size()));
  report.Add("calls_per_s",
             absl::StrFormat("%.0f", summary.calls / absl::ToDoubleSeconds(duration)));
  report.Add("rss_first_third_last_third_mean",
             absl::StrCat(Mib(static_cast<int64_t>(first)), " ", Mib(static_cast<int64_t>(last))));
  report.Add("rss_min_max_after_warmup", absl::StrCat(Mib(rss_min), " ", Mib(rss_max)));
  report.Add("rss_tolerance", Mib(static_cast<int64_t>(tolerance)));
  report.Add("db_connections_min_max", absl::StrCat(conn_min, " ", conn_max));
  report.Add("fds_min_max", absl::StrCat(fd_min, " ", fd_max));
  report.Add("faults_injected", "none (steady load)");
  if (!Sanitized()) {
    EXPECT_LE(last - first, tolerance);
  }
  EXPECT_EQ(conn_min, conn_max);
  EXPECT_LE(conn_max, kPool + 1);
  EXPECT_LE(fd_max - fd_min, 4);
  scenario.Finish(server->grpc_address(), summary);
}

}  // namespace
}  // namespace token::testing::fault
