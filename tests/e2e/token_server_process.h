// TokenServerProcess: the real token-server binary, started on free loopback
// ports against the harness's PostgreSQL, with a gRPC stub and an HTTP client
// for it. Its combined output goes to a log file the tests can grep.
#ifndef TOKEN_TESTS_E2E_TOKEN_SERVER_PROCESS_H_
#define TOKEN_TESTS_E2E_TOKEN_SERVER_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "tests/harness/subprocess.h"
#include "token/v1/token.grpc.pb.h"

namespace token::testing {

class TokenServerProcess {
 public:
  // Start launches token-server with `extra_flags` after the defaults (so they
  // win) and waits until /readyz says ready. `key_dir` empty: a fresh temp dir.
  static absl::StatusOr<std::unique_ptr<TokenServerProcess>> Start(
      const std::string& conninfo, std::vector<std::string> extra_flags = {},
      std::string key_dir = "");
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
