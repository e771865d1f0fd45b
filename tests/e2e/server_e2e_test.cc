// token-server end to end: the real binary over real gRPC and HTTP on
// loopback, against the harness's PostgreSQL.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/jwt/verifier.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ServerE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static v1::IssueTokensResponse Issue(const std::string& subject,
                                       std::vector<std::string> roles = {}) {
    v1::IssueTokensRequest request;
    request.set_subject(subject);
    for (auto& role : roles) request.add_roles(role);
    v1::IssueTokensResponse response;
    grpc::Status status =
        server_->stub().IssueTokens(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static int64_t SessionRows() {
    auto count = PostgresEnvironment::Get().Query("SELECT count(*) FROM sessions");
    return count.ok() ? std::stoll(*count) : -1;
  }

  static TokenServerProcess* server_;

 public:
  static TokenServerProcess& Server() { return *server_; }
};
TokenServerProcess* ServerE2eTest::server_ = nullptr;

// IssueTokens returns a complete pair that VerifyAccess accepts with the same claims.
TEST_F(ServerE2eTest, IssueThenVerifySucceeds) {
  v1::IssueTokensRequest request;
  request.set_subject("user-1");
  request.add_roles("admin");
  request.add_roles("viewer");
  request.mutable_client()->set_user_agent("e2e/1.0");
  request.mutable_client()->set_ip_address("2001:db8::1");
  v1::IssueTokensResponse issued;
  ASSERT_TRUE(server_->stub().IssueTokens(ContextWithDeadline().get(), request, &issued).ok());
  const v1::TokenPair& pair = issued.tokens();
  EXPECT_EQ(pair.token_type(), "Bearer");
  EXPECT_EQ(pair.session_id().size(), 36u);
  EXPECT_THAT(pair.refresh_token(), ::testing::StartsWith("tsr1_"));
  EXPECT_GT(pair.refresh_expires_at().seconds(), pair.access_expires_at().seconds());

  v1::VerifyAccessRequest verify;
  verify.set_access_token(pair.access_token());
  verify.add_required_roles("admin");
  v1::VerifyAccessResponse claims;
  grpc::Status status = server_->stub().VerifyAccess(ContextWithDeadline().get(), verify, &claims);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(claims.subject(), "user-1");
  EXPECT_EQ(claims.session_id(), pair.session_id());
  EXPECT_THAT(claims.roles(), ::testing::ElementsAre("admin", "viewer"));
  EXPECT_EQ(claims.audience(), "api");
  EXPECT_EQ(claims.expires_at().seconds(), pair.access_expires_at().seconds());
  EXPECT_EQ(claims.expires_at().seconds() - claims.issued_at().seconds(), 15 * 60);
  EXPECT_FALSE(claims.token_id().empty());
}

// The access token verifies offline against the JWKS alone, and has the documented header (server/jwt/claims.h).
TEST_F(ServerE2eTest, AccessTokenVerifiesWithJwksOnly) {
  const v1::IssueTokensResponse issued = Issue("offline", {"r"});
  const auto jwks = server_->HttpGet("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  const auto parsed = nlohmann::json::parse(jwks.body);
  ASSERT_TRUE(parsed["keys"].is_array());
  for (const auto& key : parsed["keys"]) {
    for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(key.contains(secret));
    EXPECT_EQ(key["kty"], "RSA");
    EXPECT_EQ(key["alg"], "RS256");
    EXPECT_EQ(key["use"], "sig");
  }
  const std::vector<std::string> parts = absl::StrSplit(issued.tokens().access_token(), '.');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_THAT(server_->Log(), Not(HasSubstr(issued.tokens().access_token())));
}

// JWKS is cacheable: Cache-Control public max-age, a strong ETag, and 304 on a match.
TEST_F(ServerE2eTest, JwksHasCacheHeadersAndAnswers304) {
  const auto first = server_->HttpGet("/.well-known/jwks.json");
  ASSERT_EQ(first.status, 200);
  EXPECT_THAT(first.cache_control, ::testing::MatchesRegex("public, max-age=[0-9]+"));
  ASSERT_FALSE(first.etag.empty());
  EXPECT_EQ(first.etag.front(), '"');
  const auto again = server_->HttpGet("/.well-known/jwks.json", first.etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(server_->HttpGet("/.well-known/jwks.json", "\"other\"").status, 200);
}

// Liveness and readiness answer over HTTP; metrics are Prometheus text without secrets.
TEST_F(ServerE2eTest, HealthEndpointsAnswer) {
  EXPECT_EQ(server_->HttpGet("/healthz").status, 200);
  const auto ready = server_->HttpGet("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_THAT(ready.body, HasSubstr("\"ready\":true"));
  const v1::IssueTokensResponse issued = Issue("metrics-user");
  const auto metrics = server_->HttpGet("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("token_ready 1"));
  EXPECT_THAT(metrics.body,
              HasSubstr("token_rpc_calls_total{code=\"OK\",reason=\"\",rpc=\"IssueTokens\"}"));
  EXPECT_THAT(metrics.body, HasSubstr("token_signing_key_age_seconds{kid=\""));
  EXPECT_THAT(metrics.body, HasSubstr("token_db_pool_size 4"));
  EXPECT_THAT(metrics.body, Not(HasSubstr(issued.tokens().refresh_token())));
  EXPECT_THAT(metrics.body, Not(HasSubstr("metrics-user")));
}

// RawCall sends `bytes` as the request of `method` and returns the status.
grpc::Status RawCall(const std::string& method, const std::string& bytes,
                     std::string* reply = nullptr) {
  grpc::GenericStub generic(ServerE2eTest::Server().channel());
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = ContextWithDeadline();
  absl::Notification done;
  grpc::Status result;
  generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                    [&](grpc::Status status) {
                      result = std::move(status);
                      done.Notify();
                    });
  done.WaitForNotification();
  if (reply != nullptr && result.ok()) {
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    for (const auto& s : slices) reply->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return result;
}

// A length-delimited field `number` holding `value`, in protobuf wire format.
std::string Field(int number, const std::string& value) {
  std::string out;
  out.push_back(static_cast<char>((number << 3) | 2));
  size_t n = value.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + value;
}

constexpr char kBadUtf8[] = "bad\xc3\x28utf8";

// The standard gRPC health service reports SERVING once ready.
TEST_F(ServerE2eTest, GrpcHealthCheckServing) {
  std::string reply;
  grpc::Status status = RawCall("/grpc.health.v1.Health/Check", "", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply, std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

// Server reflection lists token.v1.TokenService, so grpcurl works without the .proto.
TEST_F(ServerE2eTest, ReflectionListsTokenService) {
  grpc::GenericStub generic(Server().channel());
  grpc::CompletionQueue cq;
  auto context = ContextWithDeadline();
  auto call = generic.PrepareCall(
      context.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice slice(Field(7, ""));  // ServerReflectionRequest{list_services: ""}
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("token.v1.TokenService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Status final_status;
  call->Finish(&final_status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

struct BadIssue {
  std::string name;
  v1::IssueTokensRequest request;
  std::string reason;
};

// Every malformed IssueTokens gets INVALID_ARGUMENT with its reason and writes nothing.
TEST_F(ServerE2eTest, IssueBadInputIsInvalidArgumentAndWritesNothing) {
  std::vector<BadIssue> cases;
  auto add = [&](std::string name, std::string reason, auto mutate) {
    BadIssue c{std::move(name), {}, std::move(reason)};
    c.request.set_subject("valid-subject");
    mutate(c.request);
    cases.push_back(std::move(c));
  };
  add("empty subject", "INVALID_SUBJECT", [](auto& r) { r.set_subject(""); });
  add("long subject", "INVALID_SUBJECT", [](auto& r) { r.set_subject(std::string(256, 's')); });
  add("NUL in subject", "INVALID_SUBJECT", [](auto& r) { r.set_subject(std::string("a\0b", 3)); });
  add("newline in subject", "INVALID_SUBJECT", [](auto& r) { r.set_subject("a\nb"); });
  add("empty role", "INVALID_CLAIMS", [](auto& r) { r.add_roles(""); });
  add("long role", "INVALID_CLAIMS", [](auto& r) { r.add_roles(std::string(129, 'r')); });
  add("too many roles", "INVALID_CLAIMS", [](auto& r) {
    for (int i = 0; i < 65; ++i) r.add_roles(absl::StrCat("role", i));
  });
  add("long audience", "INVALID_CLAIMS", [](auto& r) { r.set_audience(std::string(256, 'a')); });
  add("bad ip", "INVALID_CLAIMS",
      [](auto& r) { r.mutable_client()->set_ip_address("10.0.0.300"); });
  add("long user agent", "INVALID_CLAIMS",
      [](auto& r) { r.mutable_client()->set_user_agent(std::string(513, 'u')); });

  const int64_t rows_before = SessionRows();
  for (const BadIssue& c : cases) {
    v1::IssueTokensResponse response;
    grpc::Status status =
        Server().stub().IssueTokens(ContextWithDeadline().get(), c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_EQ(ErrorReasonOf(status), c.reason) << c.name;
  }
  EXPECT_EQ(SessionRows(), rows_before);
}

// Requests whose bytes do not parse get the reason of the bad field, never INTERNAL.
TEST_F(ServerE2eTest, UnparsableRequestsGetReasonNotInternal) {
  struct RawCase {
    std::string method;
    std::string bytes;
    grpc::StatusCode code;
    std::string reason;
  };
  const std::string svc = "/token.v1.TokenService/";
  const std::vector<RawCase> cases = {
      {svc + "IssueTokens", Field(1, kBadUtf8), grpc::INVALID_ARGUMENT, "INVALID_SUBJECT"},
      {svc + "IssueTokens", Field(1, "ok") + Field(2, kBadUtf8), grpc::INVALID_ARGUMENT,
       "INVALID_CLAIMS"},
      {svc + "IssueTokens", Field(1, "ok") + Field(4, Field(1, kBadUtf8)), grpc::INVALID_ARGUMENT,
       "INVALID_CLAIMS"},
      {svc + "RefreshTokens", Field(1, kBadUtf8), grpc::UNAUTHENTICATED, "REFRESH_TOKEN_INVALID"},
      {svc + "VerifyAccess", Field(1, kBadUtf8), grpc::UNAUTHENTICATED, "TOKEN_MALFORMED"},
      {svc + "VerifyAccess", Field(1, "x") + Field(2, kBadUtf8), grpc::INVALID_ARGUMENT,
       "INVALID_REQUEST"},
      {svc + "RevokeAll", Field(1, kBadUtf8), grpc::INVALID_ARGUMENT, "INVALID_SUBJECT"},
      {svc + "RevokeSession", Field(1, kBadUtf8), grpc::INVALID_ARGUMENT, "INVALID_SESSION_ID"},
      {svc + "ListSessions", Field(1, kBadUtf8), grpc::INVALID_ARGUMENT, "INVALID_SUBJECT"},
      {svc + "ListSessions", Field(1, "s") + Field(3, kBadUtf8), grpc::INVALID_ARGUMENT,
       "INVALID_PAGE_TOKEN"},
      {svc + "IssueTokens", std::string("\xff\xff\xff", 3), grpc::INVALID_ARGUMENT,
       "INVALID_REQUEST"},
  };
  const int64_t rows_before = SessionRows();
  for (const RawCase& c : cases) {
    grpc::Status status = RawCall(c.method, c.bytes);
    EXPECT_EQ(status.error_code(), c.code) << c.method;
    EXPECT_EQ(ErrorReasonOf(status), c.reason) << c.method;
  }
  EXPECT_EQ(SessionRows(), rows_before);
}

// Malformed tokens and identifiers on the other RPCs get their specified reasons.
TEST_F(ServerE2eTest, OtherRpcsRejectBadInputWithReasons) {
  {
    v1::RefreshTokensRequest r;
    v1::RefreshTokensResponse out;
    for (const std::string& token :
         {std::string(""), std::string("garbage"), std::string(100000 / 2, 'x'),
          std::string("tsr1_") + std::string(64, '!')}) {
      r.set_refresh_token(token);
      grpc::Status s = Server().stub().RefreshTokens(ContextWithDeadline().get(), r, &out);
      EXPECT_EQ(s.error_code(), grpc::UNAUTHENTICATED);
      EXPECT_EQ(ErrorReasonOf(s), "REFRESH_TOKEN_INVALID");
    }
  }
  {
    v1::VerifyAccessRequest r;
    v1::VerifyAccessResponse out;
    for (const std::string& token :
         {std::string(""), std::string("a.b.c"), std::string(9000, 'a'), std::string("...")}) {
      r.set_access_token(token);
      grpc::Status s = Server().stub().VerifyAccess(ContextWithDeadline().get(), r, &out);
      EXPECT_EQ(s.error_code(), grpc::UNAUTHENTICATED);
      EXPECT_EQ(ErrorReasonOf(s), "TOKEN_MALFORMED");
    }
  }
  {
    v1::RevokeSessionRequest r;
    v1::RevokeSessionResponse out;
    r.set_session_id("not-a-uuid");
    grpc::Status s = Server().stub().RevokeSession(ContextWithDeadline().get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReasonOf(s), "INVALID_SESSION_ID");
  }
  {
    v1::RevokeAllRequest r;
    v1::RevokeAllResponse out;
    grpc::Status s = Server().stub().RevokeAll(ContextWithDeadline().get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReasonOf(s), "INVALID_SUBJECT");
    r.set_subject("someone");
    r.set_reason(std::string(257, 'x'));
    s = Server().stub().RevokeAll(ContextWithDeadline().get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReasonOf(s), "INVALID_REQUEST");
  }
  {
    v1::ListSessionsRequest r;
    v1::ListSessionsResponse out;
    r.set_subject("someone");
    r.set_page_token("not-a-page-token");
    grpc::Status s = Server().stub().ListSessions(ContextWithDeadline().get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReasonOf(s), "INVALID_PAGE_TOKEN");
    r.set_page_token("");
    r.set_page_size(-1);
    s = Server().stub().ListSessions(ContextWithDeadline().get(), r, &out);
    EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorReasonOf(s), "INVALID_REQUEST");
  }
}

// VerifyAccess reports audience mismatch and missing roles with their reasons.
TEST_F(ServerE2eTest, VerifyAudienceAndRoleFailures) {
  const auto issued = Issue("aud-user", {"reader"});
  v1::VerifyAccessRequest r;
  v1::VerifyAccessResponse out;
  r.set_access_token(issued.tokens().access_token());
  r.set_audience("other-api");
  grpc::Status s = Server().stub().VerifyAccess(ContextWithDeadline().get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(ErrorReasonOf(s), "TOKEN_AUDIENCE_MISMATCH");
  r.clear_audience();
  r.add_required_roles("admin");
  s = Server().stub().VerifyAccess(ContextWithDeadline().get(), r, &out);
  EXPECT_EQ(s.error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(ErrorReasonOf(s), "MISSING_ROLE");
}

// An unknown flag or a bad value stops start-up with exit code 2 and a message.
TEST_F(ServerE2eTest, BadConfigurationExitsTwo) {
  const std::string out = ::testing::TempDir() + "/badconfig.log";
  EXPECT_EQ(*RunTokenServer({"--no-such-flag=1"}, out), 2);
  EXPECT_EQ(*RunTokenServer({"--access-ttl=forever"}, out), 2);
  EXPECT_EQ(*RunTokenServer({"--grpc-listen=nonsense"}, out), 2);
  EXPECT_EQ(*RunTokenServer({"--help"}, out), 0);
}

// SIGTERM drains and exits 0; a restart on the same key directory reuses the key.
TEST_F(ServerE2eTest, SigtermExitsZeroAndRestartReusesKey) {
  const std::string conninfo = PostgresEnvironment::Get().conninfo();
  auto first = TokenServerProcess::Start(conninfo);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string key_dir = (*first)->key_dir() + "-kept";
  auto kept = TokenServerProcess::Start(conninfo, {}, key_dir);
  ASSERT_TRUE(kept.ok()) << kept.status();
  const std::string jwks = (*kept)->HttpGet("/.well-known/jwks.json").body;
  ASSERT_TRUE((*kept)->process().Signal(SIGTERM).ok());
  EXPECT_EQ(*(*kept)->process().WaitForExit(absl::Seconds(20)), 0);
  kept->reset();

  auto again = TokenServerProcess::Start(conninfo, {}, key_dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->HttpGet("/.well-known/jwks.json").body, jwks);
  struct stat st;
  ASSERT_EQ(::stat((key_dir + "/refresh-secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::error_code ec;
  again->reset();
  std::filesystem::remove_all(key_dir, ec);
}

}  // namespace
}  // namespace token::testing
