// Lost responses (docs/RELIABILITY.md): a proxy between the clients and the
// server cuts connections while responses are on their way, so the server
// rotates tokens whose callers never hear of it. Every such caller retries
// the token it holds and, inside the grace window, gets the successor the
// server had already chosen; nothing is revoked, nothing forks.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fault/chaos_proxy.h"
#include "tests/fault/scenario.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing::fault {
namespace {

TEST(FaultNetwork, LostResponsesAreRecoveredThroughTheGraceWindow) {
  Scenario scenario("lost_responses");
  TokenServerProcess* server = scenario.StartServer({"--db-pool-size=4"});
  ASSERT_NE(server, nullptr);
  const std::string address = server->grpc_address();
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port));
  auto proxy = ChaosProxy::Start(port);
  ASSERT_TRUE(proxy.ok()) << proxy.status();

  DriverOptions options = scenario.DriverDefaults();
  options.targets = {(*proxy)->address()};
  options.clients = 12;
  options.channels_per_target = 4;
  // Short deadlines: after a cut, a client holds its head until the lost
  // call's deadline has passed.
  options.call_timeout = absl::Seconds(1);
  options.replay_percent = 1;
  LoadDriver driver(options, scenario.ledger());
  const absl::Time load_start = absl::Now();
  driver.Start();
  absl::SleepFor(absl::Seconds(1));
  constexpr double kCut = 0.02;
  (*proxy)->SetCutProbability(kCut);
  absl::SleepFor(ShortOrLong(absl::Seconds(6), absl::Seconds(60)));
  // Stopped while responses are still being lost: some families end in
  // doubt, and the checks before and after Settle see them.
  driver.Stop();
  (*proxy)->SetCutProbability(0);
  const CallLog::Summary summary = scenario.ledger().log().Summarize(load_start);

  Report& report = scenario.report();
  report.Add("faults_injected",
             absl::StrCat((*proxy)->cuts(), " connections cut as a response passed (p = ", kCut,
                          " per chunk from the server), ", (*proxy)->connections(),
                          " connections in all"));
  scenario.Finish(address, summary);
  // The point of the scenario: the server did rotate for callers that never
  // heard the answer, and their retries were answered by the grace window.
  EXPECT_GT(scenario.ledger().lost_responses_recovered(), 0);
}

}  // namespace
}  // namespace token::testing::fault
