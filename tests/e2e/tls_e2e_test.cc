// TLS, mTLS and per-RPC authorization end to end: the real token-server
// binary with --tls-cert/--tls-key/--tls-client-ca/--authz-policy, a PKI made
// by the test, the documented example policy, and reloads of certificates
// and policy on disk without a restart.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"
#include "tests/tls/test_pki.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLogin[] = "spiffe://token.internal/login-service";
constexpr char kGateway[] = "spiffe://token.internal/gateway";
constexpr char kAdmin[] = "spiffe://token.internal/admin";
constexpr char kUnknown[] = "spiffe://token.internal/unknown";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ExamplePolicy() {
  return ReadText(std::string(TOKEN_SOURCE_DIR) + "/docs/examples/authz-policy.json");
}

// Pki: one CA for the server and its clients, and a CA nobody trusts.
struct Pki {
  Pki()
      : ca(TestCa::Create("token e2e CA")),
        foreign_ca(TestCa::Create("foreign CA")),
        login(ca.Issue({.common_name = "login", .uri_sans = {kLogin}})),
        gateway(ca.Issue({.common_name = "gateway", .uri_sans = {kGateway}})),
        admin(ca.Issue({.common_name = "admin", .uri_sans = {kAdmin}})),
        unknown(ca.Issue({.common_name = "unknown", .uri_sans = {kUnknown}})),
        foreign_login(foreign_ca.Issue({.common_name = "login", .uri_sans = {kLogin}})) {}

  Issued NewServerCert() const {
    return ca.Issue({.common_name = "localhost",
                     .dns_sans = {"localhost"},
                     .ip_sans = {"127.0.0.1"},
                     .server = true});
  }
  TlsClientConfig Client(const Issued* identity) const {
    return {.ca_cert_pem = ca.cert_pem(),
            .client_cert_pem = identity != nullptr ? identity->cert_pem : "",
            .client_key_pem = identity != nullptr ? identity->key_pem : ""};
  }

  TestCa ca;
  TestCa foreign_ca;
  Issued login;
  Issued gateway;
  Issued admin;
  Issued unknown;
  Issued foreign_login;
};

// ServerFiles: one server's certificate, key, client CA and policy on disk.
struct ServerFiles {
  std::string dir;
  std::string cert;
  std::string key;
  std::string ca;
  std::string policy;
  Issued server;

  std::vector<std::string> Flags() const {
    return {"--tls-cert=" + cert, "--tls-key=" + key, "--tls-client-ca=" + ca,
            "--authz-policy=" + policy, "--tls-reload-interval=1s"};
  }
  // ReplaceServerCert writes a new pair, key first (a careful operator; the
  // server would also wait out the half-written state).
  bool ReplaceServerCert(const Issued& next) {
    server = next;
    return WriteFile(key, next.key_pem) && WriteFile(cert, next.cert_pem);
  }
};

ServerFiles MakeServerFiles(const Pki& pki, const std::string& policy_text) {
  ServerFiles files;
  files.dir = MakeTempDir("tls-e2e");
  files.cert = files.dir + "/tls.crt";
  files.key = files.dir + "/tls.key";
  files.ca = files.dir + "/client-ca.crt";
  files.policy = files.dir + "/authz-policy.json";
  files.server = pki.NewServerCert();
  EXPECT_TRUE(WriteFile(files.cert, files.server.cert_pem));
  EXPECT_TRUE(WriteFile(files.key, files.server.key_pem));
  EXPECT_TRUE(WriteFile(files.ca, pki.ca.cert_pem()));
  EXPECT_TRUE(WriteFile(files.policy, policy_text));
  return files;
}

// CallResult: a call's status and the serial of the certificate the server
// presented on that connection.
struct CallResult {
  grpc::Status status;
  std::string server_serial;
};

std::string PeerSerial(const grpc::ClientContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  for (const grpc::string_ref& pem : auth->FindPropertyValues("x509_pem_cert")) {
    return SerialOfPem(std::string(pem.data(), pem.size()));
  }
  return "";
}

// Rpc names one TokenService method, called with an empty or given request.
enum class Rpc { kIssue, kRefresh, kVerify, kRevokeAll, kRevokeSession, kList };

CallResult Call(v1::TokenService::Stub& stub, Rpc rpc, const std::string& arg = "") {
  auto context = ContextWithDeadline(absl::Seconds(10));
  CallResult result;
  switch (rpc) {
    case Rpc::kIssue: {
      v1::IssueTokensRequest request;
      request.set_subject(arg.empty() ? "tls-user" : arg);
      v1::IssueTokensResponse response;
      result.status = stub.IssueTokens(context.get(), request, &response);
      break;
    }
    case Rpc::kRefresh: {
      v1::RefreshTokensRequest request;
      request.set_refresh_token(arg.empty() ? "tsr1_nothing" : arg);
      v1::RefreshTokensResponse response;
      result.status = stub.RefreshTokens(context.get(), request, &response);
      break;
    }
    case Rpc::kVerify: {
      v1::VerifyAccessRequest request;
      request.set_access_token(arg.empty() ? "not-a-token" : arg);
      v1::VerifyAccessResponse response;
      result.status = stub.VerifyAccess(context.get(), request, &response);
      break;
    }
    case Rpc::kRevokeAll: {
      v1::RevokeAllRequest request;
      request.set_subject(arg.empty() ? "nobody" : arg);
      v1::RevokeAllResponse response;
      result.status = stub.RevokeAll(context.get(), request, &response);
      break;
    }
    case Rpc::kRevokeSession: {
      v1::RevokeSessionRequest request;
      request.set_session_id(arg.empty() ? "00000000-0000-4000-8000-000000000000" : arg);
      v1::RevokeSessionResponse response;
      result.status = stub.RevokeSession(context.get(), request, &response);
      break;
    }
    case Rpc::kList: {
      v1::ListSessionsRequest request;
      request.set_subject(arg.empty() ? "nobody" : arg);
      v1::ListSessionsResponse response;
      result.status = stub.ListSessions(context.get(), request, &response);
      break;
    }
  }
  result.server_serial = PeerSerial(*context);
  return result;
}

// CallOnNewConnection makes a fresh channel (its own TLS handshake).
CallResult CallOnNewConnection(const std::string& address, const TlsClientConfig& client, Rpc rpc,
                               const std::string& arg = "") {
  auto stub = v1::TokenService::NewStub(MakeTlsChannel(address, client));
  return Call(*stub, rpc, arg);
}

// HealthCheck calls grpc.health.v1.Health/Check on `channel`.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(std::string{});
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = ContextWithDeadline();
  absl::Notification done;
  grpc::Status result;
  generic.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status status) {
                      result = std::move(status);
                      done.Notify();
                    });
  done.WaitForNotification();
  return result;
}

// HttpsPeerSerial does one TLS handshake with the HTTP port, verifying the
// server against `ca_pem` and the name 127.0.0.1, and returns the serial of
// the certificate presented ("" when the handshake fails).
std::string HttpsPeerSerial(int port, const std::string& ca_pem) {
  struct CtxFree {
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  };
  struct BioFree {
    void operator()(BIO* p) const { BIO_free_all(p); }
  };
  struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return "";
  std::unique_ptr<BIO, BioFree> pem(
      BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(pem.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get()) != 1) {
    return "";
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<BIO, BioFree> bio(BIO_new_ssl_connect(ctx.get()));
  SSL* ssl = nullptr;
  BIO_get_ssl(bio.get(), &ssl);
  if (ssl == nullptr || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1") != 1) {
    return "";
  }
  const std::string target = absl::StrCat("127.0.0.1:", port);
  BIO_set_conn_hostname(bio.get(), target.c_str());
  if (BIO_do_handshake(bio.get()) <= 0 || SSL_get_verify_result(ssl) != X509_V_OK) {
    ERR_clear_error();
    return "";
  }
  std::unique_ptr<X509, X509Free> peer(SSL_get1_peer_certificate(ssl));
  if (peer == nullptr) return "";
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (out == nullptr || PEM_write_bio_X509(out.get(), peer.get()) != 1) return "";
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return SerialOfPem(std::string(data, static_cast<size_t>(length)));
}

// LogHas is true when one log line contains every needle.
bool LogHas(const TokenServerProcess& server, std::initializer_list<absl::string_view> needles) {
  for (absl::string_view line : absl::StrSplit(server.Log(), '\n')) {
    bool all = true;
    for (absl::string_view needle : needles) all = all && absl::StrContains(line, needle);
    if (all) return true;
  }
  return false;
}

class TlsE2eTest : public ::testing::Test {
 protected:
  // One server with the documented example policy, for the access checks.
  static void SetUpTestSuite() {
    pki_ = new Pki();
    files_ = new ServerFiles(MakeServerFiles(*pki_, ExamplePolicy()));
    auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), files_->Flags(),
                                            "", pki_->Client(&pki_->login));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    if (files_ != nullptr) std::filesystem::remove_all(files_->dir);
    delete files_;
    files_ = nullptr;
    delete pki_;
    pki_ = nullptr;
  }

  // StartOwnServer starts a server whose files the test may change.
  static std::unique_ptr<TokenServerProcess> StartOwnServer(ServerFiles& files) {
    auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), files.Flags(),
                                            "", pki_->Client(&pki_->login));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static CallResult As(const Issued& who, Rpc rpc, const std::string& arg = "") {
    return CallOnNewConnection(server_->grpc_address(), pki_->Client(&who), rpc, arg);
  }

  // IssuePair issues tokens as the login service.
  static v1::TokenPair IssuePair(const std::string& subject) {
    auto stub = v1::TokenService::NewStub(
        MakeTlsChannel(server_->grpc_address(), pki_->Client(&pki_->login)));
    v1::IssueTokensRequest request;
    request.set_subject(subject);
    v1::IssueTokensResponse response;
    const grpc::Status status = stub->IssueTokens(ContextWithDeadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.tokens();
  }

  static Pki* pki_;
  static ServerFiles* files_;
  static TokenServerProcess* server_;
};
Pki* TlsE2eTest::pki_ = nullptr;
ServerFiles* TlsE2eTest::files_ = nullptr;
TokenServerProcess* TlsE2eTest::server_ = nullptr;

// gRPC speaks TLS with the configured certificate; plaintext gets nowhere,
// on the gRPC port or the HTTP port.
TEST_F(TlsE2eTest, TlsHandshakeWorksAndPlaintextFails) {
  const CallResult issued = Call(server_->stub(), Rpc::kIssue);
  ASSERT_TRUE(issued.status.ok()) << issued.status.error_message();
  EXPECT_EQ(issued.server_serial, files_->server.serial);

  auto plain = v1::TokenService::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Call(*plain, Rpc::kIssue).status.error_code(), grpc::StatusCode::UNAVAILABLE);

  httplib::Client http("127.0.0.1", server_->http_port());
  http.set_connection_timeout(2, 0);
  http.set_read_timeout(2, 0);
  auto result = http.Get("/healthz");
  EXPECT_TRUE(!result || result->status != 200);
}

// Without a client certificate, or with one from a CA the server does not
// trust, the handshake is refused: not even health checks get through.
TEST_F(TlsE2eTest, MissingOrForeignClientCertificateIsRefused) {
  const TlsClientConfig anonymous = pki_->Client(nullptr);
  EXPECT_EQ(
      CallOnNewConnection(server_->grpc_address(), anonymous, Rpc::kIssue).status.error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HealthCheck(MakeTlsChannel(server_->grpc_address(), anonymous)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(As(pki_->foreign_login, Rpc::kIssue).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// The login service may issue, and nothing else.
TEST_F(TlsE2eTest, LoginServiceMayIssueButNotRevoke) {
  EXPECT_TRUE(As(pki_->login, Rpc::kIssue).status.ok());
  for (Rpc rpc : {Rpc::kRefresh, Rpc::kVerify, Rpc::kRevokeAll, Rpc::kRevokeSession, Rpc::kList}) {
    const CallResult denied = As(pki_->login, rpc);
    EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << static_cast<int>(rpc);
  }
  EXPECT_TRUE(LogHas(*server_, {"\"rpc_denied\"", kLogin, "RevokeAll"}));
}

// A gateway may refresh and verify, but not issue or revoke.
TEST_F(TlsE2eTest, GatewayMayRefreshAndVerifyButNotIssue) {
  const v1::TokenPair pair = IssuePair("gateway-user");
  const CallResult verified = As(pki_->gateway, Rpc::kVerify, pair.access_token());
  EXPECT_TRUE(verified.status.ok()) << verified.status.error_message();
  const CallResult refreshed = As(pki_->gateway, Rpc::kRefresh, pair.refresh_token());
  EXPECT_TRUE(refreshed.status.ok()) << refreshed.status.error_message();
  for (Rpc rpc : {Rpc::kIssue, Rpc::kRevokeAll, Rpc::kRevokeSession, Rpc::kList}) {
    EXPECT_EQ(As(pki_->gateway, rpc).status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << static_cast<int>(rpc);
  }
}

// The admin tool may list and revoke, but not issue, refresh or verify.
TEST_F(TlsE2eTest, AdminMayRevokeAndList) {
  const v1::TokenPair pair = IssuePair("admin-target");
  EXPECT_TRUE(As(pki_->admin, Rpc::kList, "admin-target").status.ok());
  EXPECT_TRUE(As(pki_->admin, Rpc::kRevokeSession, pair.session_id()).status.ok());
  EXPECT_TRUE(As(pki_->admin, Rpc::kRevokeAll, "admin-target").status.ok());
  for (Rpc rpc : {Rpc::kIssue, Rpc::kRefresh, Rpc::kVerify}) {
    EXPECT_EQ(As(pki_->admin, rpc).status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << static_cast<int>(rpc);
  }
}

// A certificate from the trusted CA with an identity the policy does not
// name may call no TokenService method, but may probe health.
TEST_F(TlsE2eTest, UnknownIdentityIsDeniedButMayProbeHealth) {
  for (Rpc rpc : {Rpc::kIssue, Rpc::kRefresh, Rpc::kVerify, Rpc::kRevokeAll, Rpc::kRevokeSession,
                  Rpc::kList}) {
    const CallResult denied = As(pki_->unknown, rpc);
    EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << static_cast<int>(rpc);
  }
  EXPECT_TRUE(
      HealthCheck(MakeTlsChannel(server_->grpc_address(), pki_->Client(&pki_->unknown))).ok());
}

// HTTPS serves JWKS, health and metrics with the server certificate, which
// clients verify against the CA; no client certificate is needed.
TEST_F(TlsE2eTest, HttpsServesJwksWithServerCertificate) {
  const auto jwks = server_->HttpGet("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  EXPECT_THAT(jwks.body, HasSubstr("\"keys\""));
  EXPECT_FALSE(jwks.etag.empty());
  EXPECT_EQ(server_->HttpGet("/readyz").status, 200);
  EXPECT_EQ(server_->HttpGet("/metrics").status, 200);
  EXPECT_EQ(HttpsPeerSerial(server_->http_port(), pki_->ca.cert_pem()), files_->server.serial);
  // A client that trusts another CA refuses the server.
  EXPECT_EQ(HttpsPeerSerial(server_->http_port(), pki_->foreign_ca.cert_pem()), "");
}

// The policy file edited on disk is enforced within the reload interval; a
// broken edit is reported and the policy in use stays.
TEST_F(TlsE2eTest, PolicyEditIsHonouredAndBrokenEditKeepsOld) {
  ServerFiles files = MakeServerFiles(*pki_, ExamplePolicy());
  std::unique_ptr<TokenServerProcess> server = StartOwnServer(files);
  ASSERT_NE(server, nullptr);
  const TlsClientConfig unknown = pki_->Client(&pki_->unknown);
  ASSERT_EQ(CallOnNewConnection(server->grpc_address(), unknown, Rpc::kVerify).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Add a rule: the unknown identity may verify.
  std::string edited = ExamplePolicy();
  const std::string rule = absl::StrCat(
      R"("allow_rules": [{"name": "unknown-may-verify", "source": {"principals": [")", kUnknown,
      R"("]}, "request": {"paths": ["/token.v1.TokenService/VerifyAccess"]}},)");
  edited = absl::StrReplaceAll(edited, {{"\"allow_rules\": [", rule}});
  ASSERT_NE(edited, ExamplePolicy());
  ASSERT_TRUE(WriteFile(files.policy, edited));
  // Reaching the handler, a garbage token is UNAUTHENTICATED / TOKEN_MALFORMED.
  grpc::Status verify;
  EXPECT_TRUE(PollUntil(
      [&] {
        verify = CallOnNewConnection(server->grpc_address(), unknown, Rpc::kVerify).status;
        return verify.error_code() == grpc::StatusCode::UNAUTHENTICATED;
      },
      absl::Seconds(10)))
      << verify.error_message();
  EXPECT_EQ(ErrorReasonOf(verify), "TOKEN_MALFORMED");

  // A broken edit: reported, and the edited policy still applies.
  ASSERT_TRUE(WriteFile(files.policy, edited.substr(0, edited.size() / 2)));
  EXPECT_TRUE(PollUntil(
      [&] {
        return LogHas(*server, {"authorization policy rejected", files.policy});
      },
      absl::Seconds(10)));
  EXPECT_EQ(CallOnNewConnection(server->grpc_address(), unknown, Rpc::kVerify).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(CallOnNewConnection(server->grpc_address(), pki_->Client(&pki_->login), Rpc::kIssue)
                  .status.ok());
  EXPECT_EQ(CallOnNewConnection(server->grpc_address(), unknown, Rpc::kIssue).status.error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  std::filesystem::remove_all(files.dir);
}

// A server certificate replaced on disk is presented by new handshakes, on
// gRPC and HTTPS, with no restart; established connections carry on; a
// broken replacement is reported and the last good certificate keeps serving.
TEST_F(TlsE2eTest, ServerCertificateReloadsWithoutRestart) {
  ServerFiles files = MakeServerFiles(*pki_, ExamplePolicy());
  std::unique_ptr<TokenServerProcess> server = StartOwnServer(files);
  ASSERT_NE(server, nullptr);
  const TlsClientConfig login = pki_->Client(&pki_->login);
  const std::string first = files.server.serial;
  ASSERT_EQ(Call(server->stub(), Rpc::kIssue).server_serial, first);
  const pid_t pid = server->process().pid();

  const Issued next = pki_->NewServerCert();
  ASSERT_NE(next.serial, first);
  ASSERT_TRUE(files.ReplaceServerCert(next));
  CallResult fresh;
  EXPECT_TRUE(PollUntil(
      [&] {
        fresh = CallOnNewConnection(server->grpc_address(), login, Rpc::kIssue);
        return fresh.status.ok() && fresh.server_serial == next.serial;
      },
      absl::Seconds(15)))
      << "gRPC still presents " << fresh.server_serial << ": " << fresh.status.error_message();
  EXPECT_TRUE(PollUntil(
      [&] { return HttpsPeerSerial(server->http_port(), pki_->ca.cert_pem()) == next.serial; },
      absl::Seconds(15)));
  EXPECT_TRUE(Call(server->stub(), Rpc::kIssue).status.ok());  // The old connection.
  EXPECT_EQ(server->process().pid(), pid);
  EXPECT_TRUE(server->process().IsRunning());

  // Broken replacement: garbage where the certificate was.
  ASSERT_TRUE(
      WriteFile(files.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  EXPECT_TRUE(PollUntil(
      [&] {
        return LogHas(*server, {"TLS files rejected", files.cert});
      },
      absl::Seconds(10)));
  // gRPC re-reads its credentials every second: for a few seconds every new
  // handshake must still succeed with the last good certificate.
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    fresh = CallOnNewConnection(server->grpc_address(), login, Rpc::kIssue);
    ASSERT_TRUE(fresh.status.ok()) << fresh.status.error_message();
    ASSERT_EQ(fresh.server_serial, next.serial);
  }
  EXPECT_EQ(HttpsPeerSerial(server->http_port(), pki_->ca.cert_pem()), next.serial);
  // Neither the log nor the error mentions key material.
  EXPECT_THAT(server->Log(), Not(HasSubstr("PRIVATE KEY")));
  std::filesystem::remove_all(files.dir);
}

// A bad TLS configuration stops start-up with exit code 2 and a message that
// names the file (and never prints key material).
TEST_F(TlsE2eTest, BadTlsConfigurationExitsTwo) {
  ServerFiles files = MakeServerFiles(*pki_, ExamplePolicy());
  const Issued other = pki_->NewServerCert();
  const std::string garbage = files.dir + "/garbage.pem";
  const std::string other_key = files.dir + "/other.key";
  const std::string broken_policy = files.dir + "/broken-policy.json";
  ASSERT_TRUE(WriteFile(garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  ASSERT_TRUE(WriteFile(other_key, other.key_pem));
  ASSERT_TRUE(WriteFile(
      broken_policy,
      R"({"name": "p", "allow_rules": [{"name": "x", "source": {"principal": ["*"]}}]})"));
  const std::string out = files.dir + "/out.log";
  const std::string base_key = "--tls-key=" + files.key;
  const std::string base_cert = "--tls-cert=" + files.cert;
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert=" + files.dir + "/missing.crt", base_key}, files.dir + "/missing.crt"},
      {{"--tls-cert=" + garbage, base_key}, garbage},
      {{base_cert, "--tls-key=" + other_key}, other_key},
      {{base_cert, base_key, "--tls-client-ca=" + garbage}, garbage},
      {{base_cert, base_key, "--tls-client-ca=" + files.ca, "--authz-policy=" + broken_policy},
       broken_policy},
      {{base_cert, base_key, "--authz-policy=" + files.policy}, "--tls-client-ca"},
      {{base_cert}, "--tls-key"},
  };
  for (const Case& c : cases) {
    std::filesystem::remove(out);
    absl::StatusOr<int> code = RunTokenServer(c.args, out);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 2) << ::testing::PrintToString(c.args);
    const std::string output = ReadText(out);
    EXPECT_THAT(output, HasSubstr(c.named));
    EXPECT_THAT(output, Not(HasSubstr("-----BEGIN")));
  }
  std::filesystem::remove_all(files.dir);
}

}  // namespace
}  // namespace token::testing
