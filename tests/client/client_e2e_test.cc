// Clients end to end against the real token-server and PostgreSQL: the C++
// library (typed results, reasons, single-flight, retries, custom claims and
// step-up context), tokenctl's exit codes and --json output, and token-bench completing short runs
// of every mode without errors. Never asserts speed.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/cpp/token_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/forwarding_transport.h"
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
  // A client over the harness's recording channel: every token it receives
  // (custom claims included) is checked against the server logs afterwards
  // (tests/secrets).
  static client::TokenClientPtr RecordedClient() {
    return std::make_unique<client::TokenClient>(client::MakeGrpcTransport(server_->channel()));
  }

  static TokenServerProcess* server_;
};
TokenServerProcess* ClientE2eTest::server_ = nullptr;

// Delegates to the real transport; RefreshTokens first waits for a gate and
// every call is counted.
class GatedTransport final : public client::testing::ForwardingTransport {
 public:
  using ForwardingTransport::ForwardingTransport;
  absl::Notification gate;
  std::atomic<int> refresh_calls{0};

  grpc::Status RefreshTokens(absl::Time d, const v1::RefreshTokensRequest& r,
                             v1::RefreshTokensResponse* o) override {
    ++refresh_calls;
    gate.WaitForNotification();
    return ForwardingTransport::RefreshTokens(d, r, o);
  }
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

// The payload of a compact JWS, parsed (the test reads what the token
// itself carries, not what VerifyAccess reports).
nlohmann::json JwtPayload(const std::string& token) {
  const size_t first = token.find('.');
  const size_t second = token.find('.', first + 1);
  std::string payload;
  if (first == std::string::npos || second == std::string::npos ||
      !absl::WebSafeBase64Unescape(token.substr(first + 1, second - first - 1), &payload)) {
    return nullptr;
  }
  return nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
}

absl::Time WholeSeconds(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }

// Custom claims, scopes and step-up context through the library: in the
// token at top level, reported by VerifyAccess and ListSessions, enforced by
// required_scopes / max_auth_age / acceptable_acr; UpdateSession records a
// re-authentication that the next refreshed token carries, over a chain of
// ten rotations.
TEST_F(ClientE2eTest, LibraryStepUpLifecycle) {
  auto c = RecordedClient();
  const absl::Time logged_in = WholeSeconds(absl::Now() - absl::Minutes(10));
  client::Result<client::TokenPair> pair = c->Issue({
      .subject = "lib-step-up",
      .roles = {"customer"},
      .claims_json = R"({"tenant": "acme", "n": 5, "flags": {"beta": true}})",
      .scopes = {"read", "pay"},
      .auth_time = logged_in + absl::Milliseconds(700),
      .amr = {"pwd"},
      .acr = "urn:acr:1",
      .metadata = {{"device", "laptop"}},
  });
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();

  const nlohmann::json payload = JwtPayload(pair->access_token);
  ASSERT_TRUE(payload.is_object());
  EXPECT_EQ(payload["tenant"], "acme");
  EXPECT_TRUE(payload["n"].is_number_integer()) << payload["n"];
  EXPECT_EQ(payload["flags"], (nlohmann::json{{"beta", true}}));
  EXPECT_EQ(payload["scope"], "read pay");
  EXPECT_EQ(payload["auth_time"], absl::ToUnixSeconds(logged_in));
  EXPECT_EQ(payload["amr"], nlohmann::json::array({"pwd"}));
  EXPECT_EQ(payload["acr"], "urn:acr:1");
  EXPECT_FALSE(payload.contains("device"));  // metadata never reaches a token

  client::Result<client::AccessClaims> claims = c->Verify({.access_token = pair->access_token});
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  EXPECT_EQ(claims->claims_json, R"({"flags":{"beta":true},"n":5,"tenant":"acme"})");
  EXPECT_THAT(claims->scopes, ::testing::ElementsAre("read", "pay"));
  EXPECT_EQ(claims->auth_time, logged_in);
  EXPECT_THAT(claims->amr, ::testing::ElementsAre("pwd"));
  EXPECT_EQ(claims->acr, "urn:acr:1");

  client::Result<client::AccessClaims> scope =
      c->Verify({.access_token = pair->access_token, .required_scopes = {"pay", "admin"}});
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.error().code, grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(scope.error().reason, ErrorReason::MISSING_SCOPE);
  EXPECT_TRUE(c->Verify({.access_token = pair->access_token, .required_scopes = {"pay"}}).ok());

  // A payment demands a login at most 5 minutes old, with a second factor.
  const client::VerifyRequest payment{.access_token = pair->access_token,
                                      .required_scopes = {"pay"},
                                      .max_auth_age = absl::Minutes(5),
                                      .acceptable_acr = {"urn:acr:2fa"}};
  client::Result<client::AccessClaims> stale = c->Verify(payment);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stale.error().reason, ErrorReason::INSUFFICIENT_USER_AUTHENTICATION);
  EXPECT_TRUE(c->Verify({.access_token = pair->access_token, .max_auth_age = absl::Hours(1)}).ok());
  client::Result<client::AccessClaims> weak =
      c->Verify({.access_token = pair->access_token, .acceptable_acr = {"urn:acr:2fa"}});
  ASSERT_FALSE(weak.ok());
  EXPECT_EQ(weak.error().reason, ErrorReason::INSUFFICIENT_USER_AUTHENTICATION);

  client::Result<client::SessionPage> page = c->ListSessions("lib-step-up");
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->sessions.size(), 1u);
  EXPECT_EQ(page->sessions[0].claims_json, claims->claims_json);
  EXPECT_THAT(page->sessions[0].scopes, ::testing::ElementsAre("read", "pay"));
  EXPECT_EQ(page->sessions[0].auth_time, logged_in);
  EXPECT_EQ(page->sessions[0].metadata, (client::SessionMetadata{{"device", "laptop"}}));

  // The user re-authenticates with a second factor; the login service
  // records it. The token already issued keeps its old context.
  const absl::Time stepped_up = WholeSeconds(absl::Now());
  client::Result<client::SessionInfo> updated = c->UpdateSession({
      .session_id = pair->session_id,
      .auth_time = std::optional<absl::Time>(stepped_up),
      .amr = std::vector<std::string>{"pwd", "otp"},
      .acr = "urn:acr:2fa",
  });
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ(updated->session_id, pair->session_id);
  EXPECT_EQ(updated->auth_time, stepped_up);
  EXPECT_THAT(updated->amr, ::testing::ElementsAre("pwd", "otp"));
  EXPECT_EQ(updated->acr, "urn:acr:2fa");
  EXPECT_EQ(updated->claims_json, claims->claims_json);  // not in the mask: unchanged
  EXPECT_EQ(updated->metadata, (client::SessionMetadata{{"device", "laptop"}}));
  EXPECT_FALSE(c->Verify(payment).ok());

  // Ten rotations: every token carries the claims and the new context.
  std::string refresh = pair->refresh_token;
  std::string access;
  for (int i = 0; i < 10; ++i) {
    client::Result<client::TokenPair> next = c->Refresh({.refresh_token = refresh});
    ASSERT_TRUE(next.ok()) << i << ": " << next.error().ToString();
    refresh = next->refresh_token;
    access = next->access_token;
    const nlohmann::json p = JwtPayload(access);
    ASSERT_TRUE(p.is_object());
    EXPECT_EQ(p["tenant"], "acme") << i;
    EXPECT_EQ(p["n"], 5) << i;
    EXPECT_EQ(p["acr"], "urn:acr:2fa") << i;
  }
  client::VerifyRequest fresh = payment;
  fresh.access_token = access;
  client::Result<client::AccessClaims> paid = c->Verify(fresh);
  ASSERT_TRUE(paid.ok()) << paid.error().ToString();
  EXPECT_EQ(paid->auth_time, stepped_up);
  EXPECT_THAT(paid->amr, ::testing::ElementsAre("pwd", "otp"));
  EXPECT_EQ(paid->claims_json, R"({"flags":{"beta":true},"n":5,"tenant":"acme"})");

  // Clearing claims and auth_time: the next token has neither.
  ASSERT_TRUE(c->UpdateSession({.session_id = pair->session_id,
                                .claims_json = "",
                                .auth_time = std::optional<absl::Time>()})
                  .ok());
  client::Result<client::TokenPair> cleared = c->Refresh({.refresh_token = refresh});
  ASSERT_TRUE(cleared.ok()) << cleared.error().ToString();
  client::Result<client::AccessClaims> plain = c->Verify({.access_token = cleared->access_token});
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  EXPECT_EQ(plain->claims_json, "{}");
  EXPECT_FALSE(plain->auth_time.has_value());
  EXPECT_FALSE(JwtPayload(cleared->access_token).contains("tenant"));
}

// The refusals of the new contract as the library reports them.
TEST_F(ClientE2eTest, LibraryStepUpRefusals) {
  auto c = RecordedClient();
  client::Result<client::TokenPair> reserved =
      c->Issue({.subject = "lib-step-up-bad", .claims_json = R"({"sub": "mallory"})"});
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.error().code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(reserved.error().reason, ErrorReason::INVALID_CLAIMS);
  EXPECT_THAT(reserved.error().message, HasSubstr("sub"));
  EXPECT_EQ(reserved.error().attempts, 1);

  client::Result<client::TokenPair> scope =
      c->Issue({.subject = "lib-step-up-bad", .scopes = {"has space"}});
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.error().reason, ErrorReason::INVALID_CLAIMS);

  client::Result<client::SessionInfo> unknown = c->UpdateSession(
      {.session_id = "00000000-0000-4000-8000-0000000000ff", .acr = "urn:acr:2fa"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error().reason, ErrorReason::SESSION_NOT_FOUND);

  client::Result<client::TokenPair> pair = c->Issue({.subject = "lib-step-up-bad"});
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  ASSERT_TRUE(c->RevokeSession(pair->session_id).ok());
  client::Result<client::SessionInfo> revoked =
      c->UpdateSession({.session_id = pair->session_id, .acr = "urn:acr:2fa"});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(revoked.error().reason, ErrorReason::SESSION_REVOKED);

  // An empty mask cannot be built with the library; on the wire it is refused.
  client::TokenTransportPtr raw = client::MakeGrpcTransport(server_->channel());
  v1::UpdateSessionRequest empty_mask;
  empty_mask.set_session_id(pair->session_id);
  v1::UpdateSessionResponse response;
  grpc::Status status = raw->UpdateSession(absl::Now() + absl::Seconds(10), empty_mask, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(client::ErrorReasonOf(status), ErrorReason::INVALID_REQUEST);
}

// RevokeAll with an exception: "log out my other devices".
TEST_F(ClientE2eTest, LibraryRevokeAllExceptOneSession) {
  auto c = RecordedClient();
  client::Result<client::TokenPair> a = c->Issue({.subject = "lib-other-devices"});
  client::Result<client::TokenPair> keep = c->Issue({.subject = "lib-other-devices"});
  client::Result<client::TokenPair> b = c->Issue({.subject = "lib-other-devices"});
  client::Result<client::TokenPair> foreign = c->Issue({.subject = "lib-someone-else"});
  ASSERT_TRUE(a.ok() && keep.ok() && b.ok() && foreign.ok());

  client::Result<int64_t> wrong =
      c->RevokeAll({.subject = "lib-other-devices", .except_session_id = foreign->session_id});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wrong.error().reason, ErrorReason::INVALID_SESSION_ID);
  EXPECT_TRUE(c->Verify({.access_token = a->access_token}).ok());  // nothing changed

  client::Result<int64_t> revoked = c->RevokeAll({.subject = "lib-other-devices",
                                                  .reason = "other devices",
                                                  .except_session_id = keep->session_id});
  ASSERT_TRUE(revoked.ok()) << revoked.error().ToString();
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(c->Verify({.access_token = keep->access_token}).ok());
  EXPECT_TRUE(c->Refresh({.refresh_token = keep->refresh_token}).ok());
  for (const client::Result<client::TokenPair>* gone : {&a, &b}) {
    client::Result<client::AccessClaims> v = c->Verify({.access_token = (*gone)->access_token});
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().reason, ErrorReason::TOKEN_REVOKED);
    client::Result<client::TokenPair> r = c->Refresh({.refresh_token = (*gone)->refresh_token});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().reason, ErrorReason::SESSION_REVOKED);
  }
  EXPECT_TRUE(c->Verify({.access_token = foreign->access_token}).ok());
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

// tokenctl's step-up flow against the real server: issue with context,
// verify refused for a stale login, update-session records the
// re-authentication, the refreshed token passes; revoke-all --except.
TEST_F(ClientE2eTest, TokenctlStepUpFlow) {
  const std::string server = "--server=" + server_->grpc_address();
  const std::string logged_in =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() - absl::Minutes(30), absl::UTCTimeZone());
  ProcessRun issue = Tokenctl(
      {server, "issue", "ctl-step-up", "--claims-json", R"({"tenant":"acme"})", "--claim=n=5",
       R"(--claim=flags={"beta":true})", "--scope=read", "--scope=pay", "--amr=pwd",
       "--acr=urn:acr:1", "--auth-time=" + logged_in, "--metadata=device=laptop", "--json"});
  ASSERT_EQ(issue.exit_code, 0) << issue.err;
  const nlohmann::json pair = issue.json();
  const std::string session_id = pair["session_id"];

  ProcessRun verify = Tokenctl({server, "verify", pair["access_token"], "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(verify.json()["claims"],
            (nlohmann::json{{"tenant", "acme"}, {"n", 5}, {"flags", {{"beta", true}}}}));
  EXPECT_EQ(verify.json()["scopes"], nlohmann::json::array({"read", "pay"}));
  EXPECT_EQ(verify.json()["auth_time"], logged_in);
  EXPECT_EQ(verify.json()["acr"], "urn:acr:1");

  ProcessRun stale = Tokenctl({server, "verify", pair["access_token"], "--require-scope=pay",
                               "--max-auth-age=5m", "--json"});
  EXPECT_EQ(stale.exit_code, 2);
  EXPECT_EQ(stale.json()["error"]["reason"], "INSUFFICIENT_USER_AUTHENTICATION");
  ProcessRun no_scope =
      Tokenctl({server, "verify", pair["access_token"], "--require-scope=admin", "--json"});
  EXPECT_EQ(no_scope.exit_code, 2);
  EXPECT_EQ(no_scope.json()["error"]["reason"], "MISSING_SCOPE");

  ProcessRun update = Tokenctl({server, "update-session", session_id, "--auth-time=now",
                                "--amr=pwd", "--amr=otp", "--acr=urn:acr:2fa", "--json"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_EQ(update.json()["acr"], "urn:acr:2fa");
  EXPECT_EQ(update.json()["metadata"], (nlohmann::json{{"device", "laptop"}}));

  ProcessRun rotated = Tokenctl({server, "refresh", pair["refresh_token"], "--json"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  ProcessRun paid =
      Tokenctl({server, "verify", rotated.json()["access_token"], "--require-scope=pay",
                "--max-auth-age=5m", "--acr=urn:acr:2fa", "--json"});
  ASSERT_EQ(paid.exit_code, 0) << paid.err;
  EXPECT_EQ(paid.json()["amr"], nlohmann::json::array({"pwd", "otp"}));
  EXPECT_EQ(paid.json()["claims"]["n"], 5);

  ProcessRun sessions = Tokenctl({server, "sessions", "ctl-step-up", "--json"});
  ASSERT_EQ(sessions.exit_code, 0) << sessions.err;
  EXPECT_EQ(sessions.json()["sessions"][0]["metadata"], (nlohmann::json{{"device", "laptop"}}));

  ProcessRun missing = Tokenctl(
      {server, "update-session", "00000000-0000-4000-8000-0000000000fe", "--acr=x", "--json"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.json()["error"]["reason"], "SESSION_NOT_FOUND");
  ProcessRun reserved = Tokenctl({server, "issue", "ctl-step-up", "--claim=iss=me", "--json"});
  EXPECT_EQ(reserved.exit_code, 2);
  EXPECT_EQ(reserved.json()["error"]["reason"], "INVALID_CLAIMS");

  ProcessRun other = Tokenctl({server, "issue", "ctl-step-up", "--json"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  ProcessRun except =
      Tokenctl({server, "revoke-all", "ctl-step-up", "--except=" + session_id, "--json"});
  ASSERT_EQ(except.exit_code, 0) << except.err;
  EXPECT_EQ(except.json()["revoked_sessions"], 1);
  EXPECT_EQ(except.json()["except_session_id"], session_id);
  EXPECT_EQ(Tokenctl({server, "verify", rotated.json()["access_token"]}).exit_code, 0);
  EXPECT_EQ(Tokenctl({server, "verify", other.json()["access_token"]}).exit_code, 2);
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
