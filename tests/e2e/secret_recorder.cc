#include "tests/e2e/secret_recorder.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "token/v1/token.pb.h"

namespace token::testing {
namespace {

// Set by CMake for test binaries that take part in the check.
#ifdef TOKEN_TEST_SECRETS_DIR
constexpr const char* kDir = TOKEN_TEST_SECRETS_DIR;
#else
constexpr const char* kDir = "";
#endif

absl::Mutex record_mu;

class RecordingInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RecordingInterceptor(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_MESSAGE)) {
      void* message = methods->GetRecvMessage();
      if (message != nullptr) Record(message);
    }
    methods->Proceed();
  }

 private:
  void Record(void* message) const {
    const v1::TokenPair* pair = nullptr;
    if (method_ == "/token.v1.TokenService/IssueTokens") {
      pair = &static_cast<v1::IssueTokensResponse*>(message)->tokens();
    } else if (method_ == "/token.v1.TokenService/RefreshTokens") {
      pair = &static_cast<v1::RefreshTokensResponse*>(message)->tokens();
    }
    if (pair == nullptr) return;
    if (!pair->access_token().empty()) RecordToken(pair->access_token());
    if (!pair->refresh_token().empty()) RecordToken(pair->refresh_token());
  }

  const std::string method_;
};

class RecordingFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    // gRPC takes ownership of the interceptor.
    return new RecordingInterceptor(info->method() == nullptr ? "" : info->method());
  }
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
RecordingInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<RecordingFactory>());
  return out;
}

void RecordToken(const std::string& token) {
  if (kDir[0] == '\0') return;
  absl::MutexLock lock(&record_mu);
  std::filesystem::create_directories(kDir);
  std::ofstream(absl::StrCat(kDir, "/tokens-", getpid(), ".txt"), std::ios::app) << token << "\n";
}

void ArchiveServerLog(const std::string& log_path) {
  if (kDir[0] == '\0') return;
  static std::atomic<int> serial{0};
  std::error_code ec;
  std::filesystem::create_directories(kDir, ec);
  std::filesystem::copy_file(log_path,
                             absl::StrCat(kDir, "/server-", getpid(), "-", serial++, ".log"),
                             std::filesystem::copy_options::overwrite_existing, ec);
}

}  // namespace token::testing
