// Two replicas on one database, refreshing the same families at the same
// time (docs/RELIABILITY.md): every token has exactly one successor, every
// racing caller on either replica gets that same one (docs/REFRESH_TOKENS.md: the
// losers are grace retries), and nothing is revoked.
#include <barrier>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fault/scenario.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing::fault {
namespace {

// std::barrier wants a completion step that cannot throw.
struct Judge {
  std::function<void()>* step;
  void operator()() noexcept { (*step)(); }
};

TEST(FaultReplicas, ConcurrentRefreshOnTwoReplicasHasOneSuccessor) {
  Scenario scenario("replicas");
  TokenServerProcess* a = scenario.StartServer({"--db-pool-size=4"});
  ASSERT_NE(a, nullptr);
  TokenServerProcess* b = scenario.StartServer({"--db-pool-size=4"});
  ASSERT_NE(b, nullptr);
  Ledger& ledger = scenario.ledger();
  const TokenMath& math = ledger.math();

  const int families = ShortOrLong(12, 32);
  constexpr int kCallers = 6;  // per family: three on each replica
  const absl::Duration duration = ShortOrLong(absl::Seconds(8), absl::Seconds(60));
  const absl::Duration timeout = absl::Seconds(5);
  Endpoints endpoints({a->grpc_address(), b->grpc_address()}, 3);

  // Background: ordinary clients spread over both replicas.
  DriverOptions background = scenario.DriverDefaults();
  background.clients = 4;
  background.think = absl::Milliseconds(5);
  background.subject_prefix = "background";
  LoadDriver driver(background, ledger);
  const absl::Time start = absl::Now();
  driver.Start();

  struct Race {
    Family* family = nullptr;
    std::vector<CallResult> results;
    int64_t rounds = 0, grace_answers = 0, transient = 0, cross_replica_retries = 0;
    bool done = false;
  };
  std::vector<Race> races(families);
  for (int f = 0; f < families; ++f) {
    CallResult issued =
        CallIssue(endpoints.For(f % 2, 0), absl::StrCat("race-", f), timeout, ledger);
    ASSERT_TRUE(issued.status.ok()) << issued.status.error_message();
    Family family;
    family.subject = absl::StrCat("race-", f);
    family.session_id = issued.pair.session_id();
    family.recent = {issued.pair.refresh_token()};
    family.access_token = issued.pair.access_token();
    races[f].family = ledger.Add(std::move(family));
    races[f].results.resize(kCallers);
  }
  const absl::Time end = absl::Now() + duration;

  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<std::function<void()>>> judges;
  std::vector<std::unique_ptr<std::barrier<Judge>>> barriers;
  for (int f = 0; f < families; ++f) {
    Race& race = races[f];
    // Runs once per round, after every caller has its answer.
    judges.push_back(std::make_unique<std::function<void()>>());
    *judges.back() = [&race, &math, &ledger, &endpoints, end, timeout, f] {
      Family& family = *race.family;
      const std::string successor = math.Successor(family.head());
      int answered = 0;
      std::string access;
      for (const CallResult& r : race.results) {
        if (r.status.ok()) {
          ++answered;
          access = r.pair.access_token();
          if (r.pair.refresh_token() != successor) {
            ledger.violations().Add(absl::StrCat("session ", family.session_id, " generation ",
                                                 family.generation,
                                                 ": a racing caller got another successor"));
          }
        } else if (IsTransient(r.status.error_code())) {
          ++race.transient;
        } else {
          ledger.violations().Add(absl::StrCat("session ", family.session_id, " generation ",
                                               family.generation, ": racing caller answered ",
                                               CodeName(r.status.error_code()), "/", r.reason));
        }
      }
      if (answered > 0) {
        race.grace_answers += answered - 1;
        family.Acknowledge(successor, access, absl::Now());
        ++race.rounds;
        // Now and then the parent again on one replica, later than the race:
        // still the same successor.
        if (race.rounds % 4 == 0) {
          CallResult retry = CallRefresh(endpoints.For((race.rounds / 4 + f) % 2, 0),
                                         family.recent[family.recent.size() - 2], timeout, ledger,
                                         CallKind::kGraceRetry);
          ++race.cross_replica_retries;
          if (!retry.status.ok() || retry.pair.refresh_token() != family.head()) {
            ledger.violations().Add(
                absl::StrCat("session ", family.session_id, ": late retry of the parent answered ",
                             CodeName(retry.status.error_code()), "/", retry.reason));
          }
        }
      } else if (!family.in_doubt) {
        family.in_doubt = true;
        family.in_doubt_since = absl::Now();
      }
      race.done = absl::Now() >= end || family.broken;
    };
    barriers.push_back(std::make_unique<std::barrier<Judge>>(kCallers, Judge{judges.back().get()}));
    auto& barrier = *barriers.back();
    for (int c = 0; c < kCallers; ++c) {
      threads.emplace_back([&race, &barrier, &endpoints, &ledger, timeout, c] {
        // Caller c always uses replica c % 2, over its own connection.
        v1::TokenService::Stub& stub = endpoints.For(c % 2, c / 2);
        while (!race.done) {
          race.results[c] =
              CallRefresh(stub, race.family->head(), timeout, ledger, CallKind::kRace);
          barrier.arrive_and_wait();
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  driver.Stop();
  const CallLog::Summary summary = ledger.log().Summarize(start);

  int64_t rounds = 0, grace = 0, transient = 0, retries = 0;
  for (const Race& race : races) {
    rounds += race.rounds;
    grace += race.grace_answers;
    transient += race.transient;
    retries += race.cross_replica_retries;
  }
  Report& report = scenario.report();
  report.Add("faults_injected", absl::StrCat(families, " families, ", kCallers,
                                             " simultaneous refreshes of each token (3 per "
                                             "replica), for ",
                                             absl::FormatDuration(duration)));
  report.Add("race_rounds (tokens rotated)", rounds);
  report.Add("racing_callers_given_the_same_successor_by_grace", grace);
  report.Add("racing_calls_without_answer", transient);
  report.Add("late_cross_replica_parent_retries", retries);
  EXPECT_GT(rounds, families);
  EXPECT_EQ(transient, 0);
  scenario.Finish(a->grpc_address(), summary);
}

}  // namespace
}  // namespace token::testing::fault
