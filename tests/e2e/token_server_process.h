// TokenServerProcess: the real token-server binary, listening on loopback port
// 0 (it reports the ports it bound) against the harness's PostgreSQL, with a
// gRPC stub and an HTTP client for it. Its combined output goes to a log file
// the tests can grep.
#ifndef TOKEN_TESTS_E2E_TOKEN_SERVER_PROCESS_H_
#define TOKEN_TESTS_E2E_TOKEN_SERVER_PROCESS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "tests/harness/subprocess.h"
#include "token/v1/token.grpc.pb.h"

namespace token::testing {

// TlsClientConfig: how test clients reach a server started with --tls-*.
struct TlsClientConfig {
  // ca_cert_pem: trust anchor for the server's certificate (gRPC and HTTPS).
  std::string ca_cert_pem;
  // client_cert_pem / client_key_pem: the client certificate the default
  // stub presents; empty for none.
  std::string client_cert_pem;
  std::string client_key_pem;
};

// MakeTlsChannel opens a TLS channel to `address` with its own subchannel
// pool, so every channel made this way does its own handshake.
std::shared_ptr<grpc::Channel> MakeTlsChannel(const std::string& address,
                                              const TlsClientConfig& tls);

class TokenServerProcess {
 public:
  // Start launches token-server with `extra_flags` after the defaults (so they
  // win), reads the ports it bound from its "serving" log line and waits until
  // /readyz says ready. `key_dir` empty: a fresh temp dir.
  // The defaults include --generate-keys (a missing key and refresh-secret are
  // created); pass --nogenerate-keys to turn it off.
  // With `tls`, the server must be given --tls-cert/--tls-key in
  // extra_flags: readiness and HttpGet then use HTTPS, and stub() a TLS
  // channel presenting tls->client_cert_pem.
  static absl::StatusOr<std::unique_ptr<TokenServerProcess>> Start(
      const std::string& conninfo, std::vector<std::string> extra_flags = {},
      std::string key_dir = "", std::optional<TlsClientConfig> tls = std::nullopt);
  ~TokenServerProcess();

  v1::TokenService::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }
  int http_port() const { return http_port_; }
  const std::string& key_dir() const { return key_dir_; }
  std::string Log() const;
  Subprocess& process() { return *process_; }

  // HttpGet returns status code and body; headers into `headers` when given.
  struct HttpResponse {
    int status = 0;
    std::string body;
    std::string etag;
    std::string cache_control;
  };
  HttpResponse HttpGet(const std::string& path, const std::string& if_none_match = "") const;

 private:
  std::optional<TlsClientConfig> tls_;
  std::string ca_cert_path_;  // tls_->ca_cert_pem, written for the HTTPS client.
  TokenServerProcess() = default;
  std::unique_ptr<Subprocess> process_;
  std::string work_dir_;
  std::string key_dir_;
  std::string log_path_;
  int grpc_port_ = 0;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

// Context with a deadline, for every test call.
std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout = absl::Seconds(10));

// ReasonOf returns ErrorInfo.reason of a failed call ("" when absent), and
// checks the domain is token.v1.
std::string ErrorReasonOf(const grpc::Status& status);

// RunTokenServer runs the binary to completion with `args` (for exit codes).
absl::StatusOr<int> RunTokenServer(const std::vector<std::string>& args,
                                   const std::string& output_path);

}  // namespace token::testing

#endif  // TOKEN_TESTS_E2E_TOKEN_SERVER_PROCESS_H_
