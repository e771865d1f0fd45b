// ServerTls in process: real gRPC TLS credentials over loopback, mTLS, the
// authorization policy on every call, and reloads through the credential
// mirror. TokenService is the generated base class, so an authorized call
// ends in UNIMPLEMENTED (it got through) and a refused one never gets there.
#include "server/tls/server_tls.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "tests/harness/poll.h"
#include "tests/tls/test_pki.h"
#include "token/v1/token.grpc.pb.h"

namespace token::tls {
namespace {

using ::testing::HasSubstr;
using token::testing::Issued;
using token::testing::TestCa;
using token::testing::WriteFile;

constexpr char kPolicy[] = R"({
  "name": "test",
  "allow_rules": [
    {"name": "health", "source": {"principals": ["*"]},
     "request": {"paths": ["/grpc.health.v1.Health/*"]}},
    {"name": "login", "source": {"principals": ["spiffe://token.internal/login-service"]},
     "request": {"paths": ["/token.v1.TokenService/IssueTokens"]}}]})";

class ServerTlsTest : public ::testing::Test {
 protected:
  ServerTlsTest() : ca_(TestCa::Create("server tls CA")), other_ca_(TestCa::Create("other CA")) {}

  void SetUp() override {
    dir_ = token::testing::MakeTempDir("server-tls");
    ASSERT_FALSE(dir_.empty());
    server_cert_ = NewServerCert();
    ASSERT_TRUE(WriteServer(server_cert_));
    ASSERT_TRUE(WriteFile(dir_ + "/ca.crt", ca_.cert_pem()));
    ASSERT_TRUE(WriteFile(dir_ + "/policy.json", kPolicy));
    login_ =
        ca_.Issue({.common_name = "login", .uri_sans = {"spiffe://token.internal/login-service"}});
    unknown_ =
        ca_.Issue({.common_name = "unknown", .uri_sans = {"spiffe://token.internal/unknown"}});
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_.reset();
    tls_.reset();
    std::filesystem::remove_all(dir_);
  }

  Issued NewServerCert() {
    return ca_.Issue({.common_name = "localhost",
                      .dns_sans = {"localhost"},
                      .ip_sans = {"127.0.0.1"},
                      .server = true});
  }
  bool WriteServer(const Issued& cert) {
    return WriteFile(dir_ + "/tls.key", cert.key_pem) &&
           WriteFile(dir_ + "/tls.crt", cert.cert_pem);
  }

  TlsSettings Settings(bool mutual, bool policy) {
    return {.paths = {.cert = dir_ + "/tls.crt",
                      .key = dir_ + "/tls.key",
                      .client_ca = mutual ? dir_ + "/ca.crt" : ""},
            .authz_policy = policy ? dir_ + "/policy.json" : "",
            .reload_interval = absl::Seconds(1),
            .mirror_parent = dir_};
  }

  void StartServer(bool mutual, bool policy) {
    absl::StatusOr<std::unique_ptr<ServerTls>> tls =
        ServerTls::Create(Settings(mutual, policy), clock_);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = *std::move(tls);
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", tls_->GrpcCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  // Call makes one IssueTokens call on a fresh connection and returns its
  // status and the serial of the certificate the server presented.
  grpc::Status Call(const Issued* client, const std::string& ca_pem, std::string* serial = nullptr,
                    const std::string& method = "IssueTokens") {
    std::vector<grpc::experimental::IdentityKeyCertPair> identity;
    if (client != nullptr) identity.push_back({client->key_pem, client->cert_pem});
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(ca_pem, identity));
    options.watch_root_certs();
    if (client != nullptr) options.watch_identity_key_cert_pairs();
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                             grpc::experimental::TlsCredentials(options), args);
    return Invoke(channel, serial, method);
  }

  grpc::Status Invoke(const std::shared_ptr<grpc::Channel>& channel, std::string* serial,
                      const std::string& method) {
    auto stub = v1::TokenService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Status status;
    if (method == "IssueTokens") {
      v1::IssueTokensResponse response;
      status = stub->IssueTokens(&context, v1::IssueTokensRequest(), &response);
    } else {
      v1::RevokeAllResponse response;
      status = stub->RevokeAll(&context, v1::RevokeAllRequest(), &response);
    }
    if (serial != nullptr && context.auth_context() != nullptr) {
      for (const auto& pem : context.auth_context()->FindPropertyValues("x509_pem_cert")) {
        *serial = token::testing::SerialOfPem(std::string(pem.data(), pem.size()));
      }
    }
    return status;
  }

  TestCa ca_;
  TestCa other_ca_;
  RealClock clock_;
  std::string dir_;
  Issued server_cert_;
  Issued login_;
  Issued unknown_;
  v1::TokenService::Service service_;
  std::unique_ptr<ServerTls> tls_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// With mTLS and a policy: the login identity reaches IssueTokens, but not
// RevokeAll; an unknown identity reaches nothing; the server presents its
// certificate.
TEST_F(ServerTlsTest, PolicyDecidesPerCall) {
  StartServer(/*mutual=*/true, /*policy=*/true);
  std::string serial;
  EXPECT_EQ(Call(&login_, ca_.cert_pem(), &serial).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(serial, server_cert_.serial);
  const grpc::Status revoke = Call(&login_, ca_.cert_pem(), nullptr, "RevokeAll");
  EXPECT_EQ(revoke.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(revoke.error_message(), HasSubstr("/token.v1.TokenService/RevokeAll"));
  EXPECT_EQ(Call(&unknown_, ca_.cert_pem()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(tls_->enforcer()->denied(), 2);
}

// Without a client certificate, or with one from another CA, the handshake
// fails: no call gets as far as the policy.
TEST_F(ServerTlsTest, MutualTlsRefusesMissingOrForeignCertificates) {
  StartServer(/*mutual=*/true, /*policy=*/true);
  EXPECT_EQ(Call(nullptr, ca_.cert_pem()).error_code(), grpc::StatusCode::UNAVAILABLE);
  const Issued foreign = other_ca_.Issue(
      {.common_name = "login", .uri_sans = {"spiffe://token.internal/login-service"}});
  EXPECT_EQ(Call(&foreign, ca_.cert_pem()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(tls_->enforcer()->denied(), 0);
}

// A client that does not trust the server's CA refuses the server.
TEST_F(ServerTlsTest, ClientRejectsUntrustedServer) {
  StartServer(/*mutual=*/true, /*policy=*/true);
  EXPECT_EQ(Call(&login_, other_ca_.cert_pem()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// TLS without a client CA serves clients without certificates.
TEST_F(ServerTlsTest, ServerOnlyTlsNeedsNoClientCertificate) {
  StartServer(/*mutual=*/false, /*policy=*/false);
  EXPECT_EQ(Call(nullptr, ca_.cert_pem()).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_FALSE(tls_->mutual());
  EXPECT_FALSE(tls_->authorizes());
}

// Plaintext to a TLS port fails.
TEST_F(ServerTlsTest, PlaintextIsRefused) {
  StartServer(/*mutual=*/false, /*policy=*/false);
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  EXPECT_EQ(Invoke(channel, nullptr, "IssueTokens").error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A replaced certificate is presented by new handshakes without a restart;
// a broken replacement never reaches gRPC and the last good one keeps serving.
TEST_F(ServerTlsTest, CertificateReloadAndBrokenReplacement) {
  StartServer(/*mutual=*/true, /*policy=*/true);
  const Issued second = NewServerCert();
  ASSERT_TRUE(WriteServer(second));
  ASSERT_TRUE(tls_->Reload().ok());
  std::string serial;
  EXPECT_TRUE(token::testing::PollUntil(
      [&] {
        return Call(&login_, ca_.cert_pem(), &serial).error_code() ==
                   grpc::StatusCode::UNIMPLEMENTED &&
               serial == second.serial;
      },
      absl::Seconds(15)))
      << "server still presents " << serial;

  ASSERT_TRUE(WriteFile(dir_ + "/tls.crt",
                        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  EXPECT_FALSE(tls_->Reload().ok());
  EXPECT_EQ(tls_->stats().rejected, 1);
  // gRPC re-reads the mirror every second; give it several chances to
  // (wrongly) pick something up, while every handshake must keep working.
  const absl::Time until = absl::Now() + absl::Seconds(3);
  while (absl::Now() < until) {
    ASSERT_EQ(Call(&login_, ca_.cert_pem(), &serial).error_code(), grpc::StatusCode::UNIMPLEMENTED);
    ASSERT_EQ(serial, second.serial);
  }
}

// A policy edited on disk is enforced after the next reload; a broken edit
// keeps the previous policy.
TEST_F(ServerTlsTest, PolicyReloadAndBrokenReplacement) {
  StartServer(/*mutual=*/true, /*policy=*/true);
  ASSERT_EQ(Call(&unknown_, ca_.cert_pem()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(WriteFile(dir_ + "/policy.json", R"({"name": "test", "allow_rules": [
      {"name": "unknown", "source": {"principals": ["spiffe://token.internal/unknown"]}}]})"));
  (void)tls_->Reload();
  EXPECT_EQ(Call(&unknown_, ca_.cert_pem()).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Call(&login_, ca_.cert_pem()).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(WriteFile(dir_ + "/policy.json", R"({"name": "test", "allow_rules": [)"));
  (void)tls_->Reload();
  EXPECT_EQ(tls_->stats().policy_rejected, 1);
  EXPECT_EQ(Call(&unknown_, ca_.cert_pem()).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

// Bad configurations are InvalidArgument, naming the file.
TEST_F(ServerTlsTest, BadConfigurationIsInvalidArgument) {
  TlsSettings no_ca = Settings(/*mutual=*/false, /*policy=*/true);
  absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(no_ca, clock_);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr("--tls-client-ca"));

  ASSERT_TRUE(WriteFile(dir_ + "/policy.json", "{}"));
  tls = ServerTls::Create(Settings(/*mutual=*/true, /*policy=*/true), clock_);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr(dir_ + "/policy.json"));

  TlsSettings missing = Settings(/*mutual=*/false, /*policy=*/false);
  missing.paths.key = dir_ + "/missing.key";
  tls = ServerTls::Create(missing, clock_);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tls.status().message(), HasSubstr(dir_ + "/missing.key"));
}

}  // namespace
}  // namespace token::tls
