// Clients end to end against the real token-server and PostgreSQL: the C++
// library (typed results, reasons, single-flight, retries), tokenctl's exit
// codes and --json output, and token-bench completing short runs of every
// mode without errors. Never asserts speed.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/cpp/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/poll.h"
#include "tests/harness/ports.h"
#include "tests/harness/postgres_environment.h"
#include "tests/harness/subprocess.h"

namespace token::testing {
namespace {

using client::ErrorReason;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<TokenServerProcess> StartServer() {
  auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo());
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// One shared server for the whole binary: these tests use distinct subjects.
class ClientE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = StartServer().release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static client::TokenClientPtr Client() {
    return client::TokenClient::Connect(server_->grpc_address());
  }

  static TokenServerProcess* server_;
};
TokenServerProcess* ClientE2eTest::server_ = nullptr;

// Delegates to the real transport; RefreshTokens first waits for a gate and
// every call is counted.
class GatedTransport final : public client::TokenTransport {
 public:
  explicit GatedTransport(client::TokenTransportPtr real) : real_(std::move(real)) {}
  absl::Notification gate;
  std::atomic<int> refresh_calls{0};

  grpc::Status IssueTokens(absl::Time d, const v1::IssueTokensRequest& r,
                           v1::IssueTokensResponse* o) override {
    return real_->IssueTokens(d, r, o);
  }
  grpc::Status RefreshTokens(absl::Time d, const v1::RefreshTokensRequest& r,
                             v1::RefreshTokensResponse* o) override {
    ++refresh_calls;
    gate.WaitForNotification();
    return real_->RefreshTokens(d, r, o);
  }
  grpc::Status VerifyAccess(absl::Time d, const v1::VerifyAccessRequest& r,
                            v1::VerifyAccessResponse* o) override {
    return real_->VerifyAccess(d, r, o);
  }
  grpc::Status RevokeAll(absl::Time d, const v1::RevokeAllRequest& r,
                         v1::RevokeAllResponse* o) override {
    return real_->RevokeAll(d, r, o);
  }
  grpc::Status RevokeSession(absl::Time d, const v1::RevokeSessionRequest& r,
                             v1::RevokeSessionResponse* o) override {
    return real_->RevokeSession(d, r, o);
  }
  grpc::Status ListSessions(absl::Time d, const v1::ListSessionsRequest& r,
                            v1::ListSessionsResponse* o) override {
    return real_->ListSessions(d, r, o);
  }

 private:
  client::TokenTransportPtr real_;
};

// Issue → verify → refresh → reuse → revoked, with typed results and reasons.
TEST_F(ClientE2eTest, LibraryLifecycleWithReasons) {
  auto c = Client();
  client::Result<client::TokenPair> pair =
      c->Issue({.subject = "lib-user", .roles = {"reader"}, .client = {{"e2e/1", "192.0.2.1"}}});
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  EXPECT_EQ(pair->token_type, "Bearer");
  EXPECT_GT(pair->access_expires_at, absl::Now());

  client::Result<client::AccessClaims> claims =
      c->Verify({.access_token = pair->access_token, .required_roles = {"reader"}});
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  EXPECT_EQ(claims->subject, "lib-user");
  EXPECT_EQ(claims->session_id, pair->session_id);

  client::Result<client::AccessClaims> missing =
      c->Verify({.access_token = pair->access_token, .required_roles = {"admin"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(missing.error().reason, ErrorReason::MISSING_ROLE);

  client::Result<client::TokenPair> next = c->Refresh({.refresh_token = pair->refresh_token});
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->session_id, pair->session_id);
  client::Result<client::TokenPair> third = c->Refresh({.refresh_token = next->refresh_token});
  ASSERT_TRUE(third.ok());
  // The first token is two generations old now: reuse, the family is revoked.
  client::Result<client::TokenPair> reused = c->Refresh({.refresh_token = pair->refresh_token});
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().reason, ErrorReason::REFRESH_TOKEN_REUSED);
  EXPECT_EQ(reused.error().attempts, 1);
  client::Result<client::AccessClaims> revoked = c->Verify({.access_token = third->access_token});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().reason, ErrorReason::TOKEN_REVOKED);

  client::Result<client::AccessClaims> garbage = c->Verify({.access_token = "not-a-jwt"});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().reason, ErrorReason::TOKEN_MALFORMED);
}

// RevokeSession / RevokeAll / ListSessions through the library.
TEST_F(ClientE2eTest, LibraryRevokeAndList) {
  auto c = Client();
  client::Result<client::TokenPair> a = c->Issue({.subject = "lib-revoker"});
  client::Result<client::TokenPair> b = c->Issue({.subject = "lib-revoker"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*c->RevokeSession(a->session_id, "test"));
  EXPECT_FALSE(*c->RevokeSession(a->session_id, "again"));
  client::Result<client::SessionPage> page = c->ListSessions("lib-revoker");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->sessions.size(), 2u);
  int revoked = 0;
  for (const auto& s : page->sessions) revoked += s.revoked_at.has_value() ? 1 : 0;
  EXPECT_EQ(revoked, 1);
  EXPECT_EQ(*c->RevokeAll("lib-revoker", "test"), 1);
  client::Result<client::TokenPair> after = c->Refresh({.refresh_token = b->refresh_token});
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().reason, ErrorReason::SESSION_REVOKED);
  client::Result<bool> bad = c->RevokeSession("not-a-uuid");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, ErrorReason::INVALID_SESSION_ID);
}

// Eight concurrent Refresh calls of one token over the real server: one
// RefreshTokens RPC (counted), one successor for all, and it works.
TEST_F(ClientE2eTest, SingleFlightRefreshAgainstRealServer) {
  auto gated = std::make_unique<GatedTransport>(client::MakeGrpcTransport(server_->channel()));
  GatedTransport* transport = gated.get();
  client::TokenClient c(std::move(gated));
  client::Result<client::TokenPair> pair = c.Issue({.subject = "lib-single-flight"});
  ASSERT_TRUE(pair.ok());
  constexpr int kCallers = 8;
  std::vector<std::optional<client::Result<client::TokenPair>>> results(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = c.Refresh({.refresh_token = pair->refresh_token}); });
  }
  ASSERT_TRUE(PollUntil([&] { return c.RefreshWaiters(pair->refresh_token) == kCallers - 1; },
                        absl::Seconds(10), absl::Milliseconds(1)));
  transport->gate.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(transport->refresh_calls.load(), 1);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value() && r->ok());
    EXPECT_EQ((*r)->refresh_token, (*results[0])->refresh_token);
  }
  EXPECT_TRUE(c.Refresh({.refresh_token = (*results[0])->refresh_token}).ok());
}

// Nothing listening: UNAVAILABLE after exactly max_attempts attempts.
TEST(ClientE2eNoServerTest, UnreachableServerIsUnavailableAfterRetries) {
  client::TokenClientOptions options;
  options.timeout = absl::Seconds(5);
  options.retry.max_attempts = 3;
  options.retry.initial_backoff = absl::Milliseconds(10);
  auto c = client::TokenClient::Connect(absl::StrCat("127.0.0.1:", UnusedLoopbackPort()), options);
  client::Result<client::AccessClaims> r = c->Verify({.access_token = "x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(r.error().reason_name, "");
  EXPECT_EQ(r.error().attempts, 3);
}

// Runs a binary with separate stdout/stderr files and no TOKEN_* variables.
struct ProcessRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out, nullptr, false); }
};

ProcessRun RunBinary(const std::string& binary, const std::vector<std::string>& args,
                     absl::Duration timeout = absl::Seconds(60)) {
  static std::atomic<int> counter{0};
  const std::string base =
      absl::StrCat(::testing::TempDir(), "/client_e2e_", getpid(), "_", counter.fetch_add(1));
  SubprocessOptions options;
  options.output_path = base + ".out";
  options.stderr_path = base + ".err";
  options.unset_env_prefixes = {"TOKEN_"};
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessRun run;
  absl::StatusOr<int> code = RunCommand(argv, options, timeout);
  EXPECT_TRUE(code.ok()) << code.status();
  run.exit_code = code.ok() ? *code : -1;
  run.out = ReadFileToString(base + ".out").value_or("");
  run.err = ReadFileToString(base + ".err").value_or("");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return run;
}

ProcessRun Tokenctl(const std::vector<std::string>& args) {
  return RunBinary(TOKENCTL_BINARY, args);
}

// tokenctl against the real server: every subcommand, --json, exit codes.
TEST_F(ClientE2eTest, TokenctlSubcommandsAndExitCodes) {
  const std::string server = "--server=" + server_->grpc_address();

  ProcessRun issue = Tokenctl({server, "issue", "ctl-user", "--role=ops", "--json"});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  const nlohmann::json pair = issue.json();
  ASSERT_TRUE(pair.is_object()) << issue.out;
  const std::string access = pair["access_token"];
  const std::string refresh = pair["refresh_token"];
  EXPECT_EQ(pair["token_type"], "Bearer");

  ProcessRun verify = Tokenctl({server, "verify", access, "--require-role=ops", "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.json()["subject"], "ctl-user");
  EXPECT_EQ(verify.json()["valid"], true);
  EXPECT_THAT(verify.out + verify.err, Not(HasSubstr(access)));

  ProcessRun text = Tokenctl({server, "verify", access});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("subject:    ctl-user"));

  ProcessRun denied = Tokenctl({server, "verify", access, "--require-role=root", "--json"});
  EXPECT_EQ(denied.exit_code, 2);
  EXPECT_EQ(denied.json()["error"]["reason"], "MISSING_ROLE");

  ProcessRun rotated = Tokenctl({server, "refresh", refresh, "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_EQ(rotated.json()["session_id"], pair["session_id"]);
  EXPECT_NE(rotated.json()["refresh_token"], refresh);

  ProcessRun sessions = Tokenctl({server, "sessions", "ctl-user", "--all", "--json"});
  ASSERT_EQ(sessions.exit_code, 0) << sessions.err;
  ASSERT_EQ(sessions.json()["sessions"].size(), 1u);
  EXPECT_EQ(sessions.json()["sessions"][0]["session_id"], pair["session_id"]);
  EXPECT_EQ(Tokenctl({server, "sessions", "ctl-user"}).exit_code, 0);

  ProcessRun revoke_one = Tokenctl({server, "revoke-session", pair["session_id"], "--json"});
  ASSERT_EQ(revoke_one.exit_code, 0) << revoke_one.err;
  EXPECT_EQ(revoke_one.json()["revoked"], true);

  ProcessRun after = Tokenctl({server, "verify", access, "--json"});
  EXPECT_EQ(after.exit_code, 2);
  EXPECT_EQ(after.json()["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(after.json()["error"]["reason"], "TOKEN_REVOKED");

  ASSERT_EQ(Tokenctl({server, "issue", "ctl-user"}).exit_code, 0);
  ProcessRun revoke_all = Tokenctl({server, "revoke-all", "ctl-user", "--reason=e2e", "--json"});
  ASSERT_EQ(revoke_all.exit_code, 0) << revoke_all.err;
  EXPECT_EQ(revoke_all.json()["revoked_sessions"], 1);

  ProcessRun bad_subject = Tokenctl({server, "revoke-all", "", "--json"});
  EXPECT_EQ(bad_subject.exit_code, 2);
  EXPECT_EQ(bad_subject.json()["error"]["reason"], "INVALID_SUBJECT");

  EXPECT_EQ(Tokenctl({server, "frobnicate"}).exit_code, 1);
  EXPECT_EQ(Tokenctl({server, "issue"}).exit_code, 1);
  EXPECT_EQ(Tokenctl({"--help"}).exit_code, 0);

  ProcessRun down = Tokenctl({absl::StrCat("--server=127.0.0.1:", UnusedLoopbackPort()),
                              "--timeout=2s", "verify", "x", "--json"});
  EXPECT_EQ(down.exit_code, 3);
  EXPECT_EQ(down.json()["error"]["code"], "UNAVAILABLE");
}

// tokenctl jwks reads the real endpoint; keygen points at token-server.
TEST_F(ClientE2eTest, TokenctlJwksAndKeygen) {
  const std::string url =
      absl::StrCat("--jwks-url=http://127.0.0.1:", server_->http_port(), "/.well-known/jwks.json");
  ProcessRun jwks = Tokenctl({"jwks", url, "--json"});
  ASSERT_EQ(jwks.exit_code, 0) << jwks.err;
  ASSERT_TRUE(jwks.json()["keys"].is_array());
  ASSERT_FALSE(jwks.json()["keys"].empty());
  EXPECT_EQ(jwks.json()["keys"][0]["alg"], "RS256");
  ProcessRun table = Tokenctl({"jwks", url});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("RS256"));
  EXPECT_EQ(
      Tokenctl({"jwks", absl::StrCat("--jwks-url=http://127.0.0.1:", UnusedLoopbackPort(), "/x"),
                "--timeout=2s"})
          .exit_code,
      3);

  // Keys are the server binary's job: tokenctl keygen says so and exits 1.
  ProcessRun keygen = Tokenctl({"keygen", "--key-dir=/nonexistent", "--bits=2048"});
  EXPECT_EQ(keygen.exit_code, 1);
  EXPECT_THAT(keygen.err, HasSubstr("token-server keygen"));
}

// token-bench runs every mode for a second at tiny concurrency: it completes,
// counts calls and reports no errors. Speed is never asserted.
TEST_F(ClientE2eTest, TokenBenchModesCompleteWithoutErrors) {
  for (const char* mode : {"issue", "refresh", "verify", "mix", "noop"}) {
    ProcessRun run = RunBinary(
        TOKEN_BENCH_BINARY,
        {"--server=" + server_->grpc_address(), absl::StrCat("--mode=", mode), "--concurrency=2",
         "--duration=1s", "--warmup=0s", "--verify-tokens=8", "--refresh-pool=8", "--json"});
    ASSERT_EQ(run.exit_code, 0) << mode << ": " << run.err;
    const nlohmann::json report = run.json();
    ASSERT_TRUE(report.is_object()) << run.out;
    EXPECT_EQ(report["mode"], mode);
    EXPECT_GT(report["total"]["calls"].get<int64_t>(), 0) << mode;
    EXPECT_EQ(report["total"]["ok"], report["total"]["calls"]) << mode;
    EXPECT_TRUE(report["total"]["errors"].empty()) << mode << ": " << report["total"]["errors"];
    EXPECT_GT(report["total"]["latency_ms"]["p99"].get<double>(), 0.0) << mode;
  }
  // Open loop at a fixed rate and the text report.
  ProcessRun paced =
      RunBinary(TOKEN_BENCH_BINARY,
                {"--server=" + server_->grpc_address(), "--mode=verify", "--concurrency=2",
                 "--rate=50", "--duration=1s", "--warmup=0s", "--verify-tokens=4"});
  ASSERT_EQ(paced.exit_code, 0) << paced.err;
  EXPECT_THAT(paced.out, HasSubstr("p99.9 ms"));
  EXPECT_EQ(RunBinary(TOKEN_BENCH_BINARY, {"--mode=bogus"}).exit_code, 1);
}

}  // namespace
}  // namespace token::testing
