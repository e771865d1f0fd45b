// tokenctl's parsing, exit codes and output (text and --json) against a fake
// transport and a fake HTTP fetch.
#include <filesystem>
#include <map>
#include <sstream>

#include "client/tokenctl/cli.h"
#include "client/tokenctl/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/fake_transport.h"
#include "tests/client/forwarding_transport.h"

namespace token::tokenctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::token::client::testing::Answer;
using ::token::client::testing::ErrorStatus;
using ::token::client::testing::FakeTransport;
using ::token::client::testing::KeepLastRequest;

GetEnv NoEnv() {
  return [](const std::string&) { return std::optional<std::string>(); };
}

GetEnv Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

// Runs tokenctl with `args` against `transport` (the fake is shared across
// the client the command connects).
struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

struct Harness {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  HttpResponse http;
  std::string last_server;

  Outcome Run(const std::vector<std::string>& args, const std::string& stdin_text = "",
              const GetEnv& env = NoEnv()) {
    absl::StatusOr<Invocation> inv = ParseCommandLine(args, env);
    if (!inv.ok()) return {kExitUsage, "", std::string(inv.status().message())};
    Dependencies deps;
    deps.connect = [this](const std::string& server, absl::Duration timeout) {
      last_server = server;
      // Forwards to the shared fake so the test can inspect it afterwards.
      auto forward = std::make_unique<client::testing::ForwardingTransport>(transport);
      client::TokenClientOptions options;
      options.timeout = timeout;
      options.retry.initial_backoff = absl::Milliseconds(1);
      return std::make_unique<client::TokenClient>(std::move(forward), options);
    };
    deps.http_get = [this](const std::string&, absl::Duration) { return http; };
    deps.now = [] { return absl::FromUnixSeconds(1700000500); };
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    const int code = tokenctl::Run(*inv, deps, in, out, err);
    return {code, out.str(), err.str()};
  }
};

// Flags may come before or after the command; repeated flags keep all values.
TEST(TokenctlParseTest, FlagsAnywhereAndRepeated) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(
      {"--json", "issue", "alice", "--role", "a", "--role=b", "--server=h:1"}, NoEnv());
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, "issue");
  EXPECT_EQ(inv->args, std::vector<std::string>{"alice"});
  EXPECT_EQ(inv->flags.at("role"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(inv->server, "h:1");
  EXPECT_TRUE(inv->json);
}

// --server beats TOKEN_SERVER, which beats the default.
TEST(TokenctlParseTest, ServerFromFlagThenEnvironmentThenDefault) {
  EXPECT_EQ(ParseCommandLine({"revoke-all", "x"}, NoEnv())->server, kDefaultServer);
  EXPECT_EQ(ParseCommandLine({"revoke-all", "x"}, Env({{"TOKEN_SERVER", "e:2"}}))->server, "e:2");
  EXPECT_EQ(
      ParseCommandLine({"revoke-all", "x", "--server=f:3"}, Env({{"TOKEN_SERVER", "e:2"}}))->server,
      "f:3");
  EXPECT_EQ(ParseCommandLine({"jwks"}, NoEnv())->Flag("jwks-url"), kDefaultJwksUrl);
}

// Usage errors: unknown command or flag, a flag of another command, argument
// count, bad values.
TEST(TokenctlParseTest, UsageErrorsAreRejected) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"issue"},
           {"issue", "a", "b"},
           {"issue", "a", "--bogus"},
           {"verify", "t", "--role=x"},
           {"issue", "a", "--audience"},
           {"keygen"},
           {"sessions", "a", "--page-size=-1"},
           {"verify", "--timeout=0s"},
           {"verify", "--json=maybe"},
           {"-x"},
       }) {
    EXPECT_FALSE(ParseCommandLine(args, NoEnv()).ok()) << ::testing::PrintToString(args);
  }
  // After "--" everything is an argument, even if it looks like a flag.
  absl::StatusOr<Invocation> inv = ParseCommandLine({"verify", "--", "--not-a-flag"}, NoEnv());
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->args, std::vector<std::string>{"--not-a-flag"});
}

TEST(TokenctlOutputTest, ExitCodesByStatus) {
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::OK), kExitOk);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNAUTHENTICATED), kExitRefused);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::INVALID_ARGUMENT), kExitRefused);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::PERMISSION_DENIED), kExitRefused);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::UNAVAILABLE), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::DEADLINE_EXCEEDED), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::RESOURCE_EXHAUSTED), kExitUnavailable);
  EXPECT_EQ(ExitCodeFor(grpc::StatusCode::INTERNAL), kExitOther);
  EXPECT_EQ(Rfc3339(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

// --help prints the usage with the exit codes and exits 0.
TEST(TokenctlRunTest, HelpDocumentsExitCodes) {
  Harness h;
  Outcome o = h.Run({"--help"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_THAT(o.out, HasSubstr("exit codes:"));
  EXPECT_THAT(o.out, HasSubstr("3  the service is unavailable"));
}

// issue --json: one object with the pair, field names as in the .proto.
TEST(TokenctlRunTest, IssueJsonPrintsThePair) {
  Harness h;
  Outcome o = h.Run({"issue", "alice", "--role=admin", "--json", "--server=s:9"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const nlohmann::json j = o.json();
  EXPECT_EQ(j["access_token"], "access-for-alice");
  EXPECT_EQ(j["refresh_token"], "tsr1_refresh-for-alice");
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["access_expires_at"], "2023-11-14T22:28:20Z");
  EXPECT_EQ(h.last_server, "s:9");
  EXPECT_EQ(h.transport->issue_calls.load(), 1);
}

// refresh reads the token from stdin and never echoes it.
TEST(TokenctlRunTest, RefreshReadsStdinAndDoesNotEchoTheInput) {
  Harness h;
  h.transport->on_refresh = [](absl::Time, const v1::RefreshTokensRequest& r,
                               v1::RefreshTokensResponse* out) {
    EXPECT_EQ(r.refresh_token(), "tsr1_secret");
    out->mutable_tokens()->set_refresh_token("tsr1_next");
    return grpc::Status::OK;
  };
  Outcome o = h.Run({"refresh"}, "  tsr1_secret\n");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("tsr1_next"));
  EXPECT_THAT(o.out + o.err, Not(HasSubstr("tsr1_secret")));
  EXPECT_EQ(h.Run({"refresh"}, "").exit_code, kExitUsage);
}

// verify: claims on success (token not printed); a refusal exits 2 with the
// reason in the JSON error object.
TEST(TokenctlRunTest, VerifyRefusalExitsTwoWithReason) {
  Harness h;
  Outcome ok = h.Run({"verify", "eyJ.secret.token"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("subject:    alice"));
  EXPECT_THAT(ok.out, Not(HasSubstr("eyJ.secret.token")));

  h.transport->on_verify =
      Answer(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "TOKEN_REVOKED", "revoked"));
  Outcome refused = h.Run({"verify", "eyJ.secret.token", "--json"});
  EXPECT_EQ(refused.exit_code, kExitRefused);
  const nlohmann::json j = refused.json();
  EXPECT_EQ(j["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(j["error"]["reason"], "TOKEN_REVOKED");
  EXPECT_THAT(refused.out + refused.err, Not(HasSubstr("eyJ.secret.token")));
}

// UNAVAILABLE (after retries) exits 3; INTERNAL exits 4.
TEST(TokenctlRunTest, UnavailableExitsThreeOtherExitsFour) {
  Harness h;
  h.transport->on_revoke_all =
      Answer(ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE"));
  Outcome down = h.Run({"revoke-all", "alice", "--json"});
  EXPECT_EQ(down.exit_code, kExitUnavailable);
  EXPECT_EQ(down.json()["error"]["reason"], "DATABASE_UNAVAILABLE");
  EXPECT_EQ(h.transport->revoke_all_calls.load(), 4);  // Retried within the deadline.

  h.transport->on_revoke_all = Answer(grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  EXPECT_EQ(h.Run({"revoke-all", "alice"}).exit_code, kExitOther);
}

// revoke-all / revoke-session JSON shapes.
TEST(TokenctlRunTest, RevokeCommandsJson) {
  Harness h;
  Outcome all = h.Run({"revoke-all", "alice", "--reason=password reset", "--json"});
  ASSERT_EQ(all.exit_code, 0);
  EXPECT_EQ(all.json(), (nlohmann::json{{"subject", "alice"}, {"revoked_sessions", 3}}));
  Outcome one = h.Run({"revoke-session", "00000000-0000-4000-8000-000000000001", "--json"});
  ASSERT_EQ(one.exit_code, 0);
  EXPECT_EQ(one.json()["revoked"], true);
}

// sessions --all follows next_page_token until it is empty.
TEST(TokenctlRunTest, SessionsAllFollowsPages) {
  Harness h;
  h.transport->on_list = [](absl::Time, const v1::ListSessionsRequest& r,
                            v1::ListSessionsResponse* out) {
    v1::Session* s = out->add_sessions();
    s->set_session_id(r.page_token().empty() ? "first" : "second");
    s->mutable_expires_at()->set_seconds(1700000000);  // Before `now`: expired.
    s->mutable_absolute_expires_at()->set_seconds(1800000000);
    if (r.page_token().empty()) out->set_next_page_token("p2");
    return grpc::Status::OK;
  };
  Outcome o = h.Run({"sessions", "alice", "--all", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const nlohmann::json j = o.json();
  ASSERT_EQ(j["sessions"].size(), 2u);
  EXPECT_EQ(j["sessions"][1]["session_id"], "second");
  EXPECT_EQ(j["sessions"][0]["revoked_at"], nullptr);
  EXPECT_EQ(j["next_page_token"], "");
  Outcome text = h.Run({"sessions", "alice"});
  EXPECT_THAT(text.out, HasSubstr("expired"));
  EXPECT_THAT(text.out, HasSubstr("more: --page-token=p2"));
}

// jwks: the key table; unreachable exits 3, other HTTP failures 4.
TEST(TokenctlRunTest, JwksFetchOutcomes) {
  Harness h;
  h.http.status = 200;
  h.http.body = R"({"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"k1","n":")" +
                std::string(342, 'A') + R"(","e":"AQAB"}]})";
  h.http.cache_control = "public, max-age=300";
  Outcome o = h.Run({"jwks"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("k1"));
  EXPECT_THAT(o.out, HasSubstr("2048"));
  EXPECT_EQ(h.Run({"jwks", "--json"}).json()["keys"][0]["kid"], "k1");

  h.http = HttpResponse{.status = 0, .error = "Connection"};
  EXPECT_EQ(h.Run({"jwks"}).exit_code, kExitUnavailable);
  h.http = HttpResponse{.status = 404};
  EXPECT_EQ(h.Run({"jwks"}).exit_code, kExitOther);
  h.http = HttpResponse{.status = 200, .body = "not json"};
  EXPECT_EQ(h.Run({"jwks", "--json"}).json()["error"]["code"], "BAD_RESPONSE");
  EXPECT_EQ(h.Run({"jwks", "--jwks-url=ftp://x"}).exit_code, kExitUsage);
}

// keygen is the server's: tokenctl says where it went instead of writing keys.
TEST(TokenctlParseTest, KeygenPointsAtTokenServer) {
  absl::StatusOr<Invocation> inv = ParseCommandLine({"keygen", "--key-dir=/tmp/k"}, NoEnv());
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(std::string(inv.status().message()), HasSubstr("token-server keygen"));
}

// issue: --claims-json with --claim on top (JSON values when they parse,
// strings otherwise), scopes, step-up context and metadata reach the request.
TEST(TokenctlRunTest, IssueSendsClaimsScopesStepUpAndMetadata) {
  Harness h;
  v1::IssueTokensRequest sent;
  KeepLastRequest(h.transport->on_issue, &sent);
  Outcome o = h.Run({"issue",
                     "alice",
                     "--claims-json",
                     R"({"tenant":"acme","n":1})",
                     "--claim=n=5",
                     "--claim",
                     R"(flags={"beta":true})",
                     "--claim=plan=gold",
                     "--claim=zip=007",
                     "--scope=read",
                     "--scope",
                     "pay",
                     "--amr=pwd",
                     "--amr=otp",
                     "--acr=urn:acr:2fa",
                     "--auth-time=2023-11-14T22:00:00Z",
                     "--metadata=device=laptop",
                     "--metadata",
                     "login=pwd=x",
                     "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto& fields = sent.claims().fields();
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields.at("tenant").string_value(), "acme");
  EXPECT_EQ(fields.at("n").number_value(), 5.0);  // --claim wins over --claims-json
  EXPECT_TRUE(fields.at("flags").struct_value().fields().at("beta").bool_value());
  EXPECT_EQ(fields.at("plan").string_value(), "gold");
  EXPECT_EQ(fields.at("zip").string_value(), "007");  // not JSON: a string
  EXPECT_THAT(sent.scopes(), ::testing::ElementsAre("read", "pay"));
  EXPECT_THAT(sent.amr(), ::testing::ElementsAre("pwd", "otp"));
  EXPECT_EQ(sent.acr(), "urn:acr:2fa");
  EXPECT_EQ(sent.auth_time().seconds(), 1700000000 - 1700000000 % 3600);
  EXPECT_EQ(sent.metadata().at("device"), "laptop");
  EXPECT_EQ(sent.metadata().at("login"), "pwd=x");  // split at the first '='

  // --auth-time=now is the command's clock.
  ASSERT_EQ(h.Run({"issue", "alice", "--auth-time=now"}).exit_code, 0);
  EXPECT_EQ(sent.auth_time().seconds(), 1700000500);
  EXPECT_FALSE(sent.has_claims());
}

// Bad context flags are usage errors before anything is sent.
TEST(TokenctlParseTest, BadContextFlagsAreUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"issue", "a", "--claim=novalue"},
           {"issue", "a", "--claim==5"},
           {"issue", "a", "--claims-json=[1]"},
           {"issue", "a", "--claims-json={bad"},
           {"issue", "a", "--metadata=nokey"},
           {"issue", "a", "--auth-time=yesterday"},
           {"issue", "a", "--auth-time=none"},
           {"issue", "a", "--acr=1", "--acr=2"},
           {"issue", "a", "--clear=roles"},
           {"issue", "a", "--except=s"},
           {"verify", "t", "--max-auth-age=5 minutes"},
           {"verify", "t", "--max-auth-age=-1s"},
           {"verify", "t", "--scope=x"},
           {"update-session", "s"},
           {"update-session", "s", "--clear=bogus"},
           {"update-session", "s", "--acr=x", "--clear=acr"},
           {"update-session", "s", "--auth-time=later"},
           {"update-session", "s", "--audience=x"},
           {"revoke-session", "s", "--except=t"},
       }) {
    EXPECT_FALSE(ParseCommandLine(args, NoEnv()).ok()) << ::testing::PrintToString(args);
  }
}

// verify: scopes, max auth age and acceptable acr reach the request; the
// token's context is printed (JSON and text).
TEST(TokenctlRunTest, VerifyStepUpRequirementsAndContextOutput) {
  Harness h;
  v1::VerifyAccessRequest sent;
  h.transport->on_verify = [next = h.transport->on_verify](absl::Time d,
                                                           const v1::VerifyAccessRequest& r,
                                                           v1::VerifyAccessResponse* out) {
    grpc::Status status = next(d, r, out);
    (*out->mutable_claims()->mutable_fields())["n"].set_number_value(5);
    (*out->mutable_claims()->mutable_fields())["tenant"].set_string_value("acme");
    out->add_scopes("pay");
    out->mutable_auth_time()->set_seconds(1700000000);
    out->add_amr("pwd");
    out->set_acr("urn:acr:2fa");
    return status;
  };
  KeepLastRequest(h.transport->on_verify, &sent);
  Outcome o = h.Run({"verify", "t", "--require-scope=pay", "--max-auth-age=5m", "--acr=urn:acr:2fa",
                     "--acr=urn:acr:hwk", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(sent.required_scopes(), ::testing::ElementsAre("pay"));
  EXPECT_EQ(sent.max_auth_age().seconds(), 300);
  EXPECT_THAT(sent.acceptable_acr(), ::testing::ElementsAre("urn:acr:2fa", "urn:acr:hwk"));
  const nlohmann::json j = o.json();
  EXPECT_EQ(j["claims"], (nlohmann::json{{"n", 5}, {"tenant", "acme"}}));
  EXPECT_TRUE(j["claims"]["n"].is_number_integer());
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"pay"}));
  EXPECT_EQ(j["auth_time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["amr"], nlohmann::json::array({"pwd"}));
  EXPECT_EQ(j["acr"], "urn:acr:2fa");

  Outcome text = h.Run({"verify", "t"});
  EXPECT_THAT(text.out, HasSubstr(R"(claims:     {"n":5,"tenant":"acme"})"));
  EXPECT_THAT(text.out, HasSubstr("auth_time:  2023-11-14T22:13:20Z"));
  EXPECT_FALSE(sent.has_max_auth_age());

  h.transport->on_verify =
      Answer(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "INSUFFICIENT_USER_AUTHENTICATION"));
  Outcome stale = h.Run({"verify", "t", "--max-auth-age=5m", "--json"});
  EXPECT_EQ(stale.exit_code, kExitRefused);
  EXPECT_EQ(stale.json()["error"]["reason"], "INSUFFICIENT_USER_AUTHENTICATION");
}

// update-session: the mask is exactly the flags given; --clear empties a
// field; --auth-time none clears it too; the session is printed.
TEST(TokenctlRunTest, UpdateSessionMaskIsTheFlagsGiven) {
  Harness h;
  std::vector<v1::UpdateSessionRequest> sent;
  h.transport->on_update = [&](absl::Time, const v1::UpdateSessionRequest& r,
                               v1::UpdateSessionResponse* out) {
    sent.push_back(r);
    v1::Session* s = out->mutable_session();
    s->set_session_id(r.session_id());
    *s->mutable_claims() = r.claims();
    s->set_acr(r.acr());
    *s->mutable_auth_time() = r.auth_time();
    (*s->mutable_metadata()) = r.metadata();
    return grpc::Status::OK;
  };
  Outcome o =
      h.Run({"update-session", "sid-1", "--auth-time=now", "--amr=pwd", "--amr=otp",
             "--acr=urn:acr:2fa", "--claim=tenant=acme", "--metadata=device=phone", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].session_id(), "sid-1");
  EXPECT_THAT(sent[0].update_mask().paths(),
              ::testing::ElementsAre("claims", "auth_time", "amr", "acr", "metadata"));
  EXPECT_EQ(sent[0].auth_time().seconds(), 1700000500);
  EXPECT_THAT(sent[0].amr(), ::testing::ElementsAre("pwd", "otp"));
  const nlohmann::json j = o.json();
  EXPECT_EQ(j["session_id"], "sid-1");
  EXPECT_EQ(j["claims"], (nlohmann::json{{"tenant", "acme"}}));
  EXPECT_EQ(j["acr"], "urn:acr:2fa");
  EXPECT_EQ(j["auth_time"], "2023-11-14T22:21:40Z");
  EXPECT_EQ(j["metadata"], (nlohmann::json{{"device", "phone"}}));

  ASSERT_EQ(h.Run({"update-session", "sid-1", "--clear=roles", "--clear", "claims",
                   "--auth-time=none", "--scope=read"})
                .exit_code,
            0);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[1].update_mask().paths(),
              ::testing::ElementsAre("roles", "claims", "scopes", "auth_time"));
  EXPECT_TRUE(sent[1].roles().empty());
  EXPECT_FALSE(sent[1].has_claims());
  EXPECT_FALSE(sent[1].has_auth_time());
  EXPECT_THAT(sent[1].scopes(), ::testing::ElementsAre("read"));

  h.transport->on_update = Answer(ErrorStatus(grpc::StatusCode::NOT_FOUND, "SESSION_NOT_FOUND"));
  Outcome missing = h.Run({"update-session", "sid-2", "--acr=x", "--json"});
  EXPECT_EQ(missing.exit_code, kExitRefused);
  EXPECT_EQ(missing.json()["error"]["reason"], "SESSION_NOT_FOUND");
}

// revoke-all --except sends except_session_id and reports the kept session.
TEST(TokenctlRunTest, RevokeAllExceptKeepsOneSession) {
  Harness h;
  v1::RevokeAllRequest sent;
  h.transport->on_revoke_all = [&](absl::Time, const v1::RevokeAllRequest& r,
                                   v1::RevokeAllResponse* out) {
    sent = r;
    out->set_revoked_sessions(2);
    return grpc::Status::OK;
  };
  Outcome o = h.Run({"revoke-all", "alice", "--except=keep", "--json"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(sent.except_session_id(), "keep");
  EXPECT_EQ(o.json(),
            (nlohmann::json{
                {"subject", "alice"}, {"revoked_sessions", 2}, {"except_session_id", "keep"}}));
  EXPECT_THAT(h.Run({"revoke-all", "alice", "--except", "keep"}).out,
              HasSubstr("kept session keep"));
}

// sessions --json shows each session's context and metadata.
TEST(TokenctlRunTest, SessionsJsonIncludesContextAndMetadata) {
  Harness h;
  h.transport->on_list = [](absl::Time, const v1::ListSessionsRequest&,
                            v1::ListSessionsResponse* out) {
    v1::Session* s = out->add_sessions();
    s->set_session_id("one");
    (*s->mutable_claims()->mutable_fields())["tenant"].set_string_value("acme");
    s->add_scopes("read");
    s->add_amr("pwd");
    s->set_acr("1");
    (*s->mutable_metadata())["device"] = "phone";
    out->add_sessions()->set_session_id("two");
    return grpc::Status::OK;
  };
  const nlohmann::json j = h.Run({"sessions", "alice", "--json"}).json();
  ASSERT_EQ(j["sessions"].size(), 2u);
  EXPECT_EQ(j["sessions"][0]["claims"], (nlohmann::json{{"tenant", "acme"}}));
  EXPECT_EQ(j["sessions"][0]["scopes"], nlohmann::json::array({"read"}));
  EXPECT_EQ(j["sessions"][0]["metadata"], (nlohmann::json{{"device", "phone"}}));
  EXPECT_EQ(j["sessions"][0]["auth_time"], nullptr);
  EXPECT_EQ(j["sessions"][1]["claims"], nlohmann::json::object());
  EXPECT_EQ(j["sessions"][1]["metadata"], nlohmann::json::object());
}

// --help documents the new commands and flags.
TEST(TokenctlRunTest, HelpDocumentsStepUpCommands) {
  Harness h;
  const std::string help = h.Run({"--help"}).out;
  for (const char* text : {"update-session SESSION_ID", "--claims-json", "--claim=NAME=VALUE",
                           "--max-auth-age", "--require-scope", "--except=SESSION_ID", "--clear",
                           "INSUFFICIENT_USER_AUTHENTICATION", "MISSING_SCOPE"}) {
    EXPECT_THAT(help, HasSubstr(text));
  }
}

}  // namespace
}  // namespace token::tokenctl
