// Secret hygiene for the whole test run: every token a test receives from a
// token-server is recorded, and every server log is kept, so that the
// `secrets.no_tokens_in_logs` check after the run can prove no token (nor
// the hash the database keeps) ever reached a log line.
#ifndef TOKEN_TESTS_E2E_SECRET_RECORDER_H_
#define TOKEN_TESTS_E2E_SECRET_RECORDER_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/support/client_interceptor.h"

namespace token::testing {

// RecordingInterceptors returns the interceptor factories that record the
// tokens in IssueTokens and RefreshTokens responses.
std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
RecordingInterceptors();

// RecordToken appends `token` to this process's record, if recording is on.
void RecordToken(const std::string& token);

// ArchiveServerLog keeps a copy of a server log for the check, if recording is on.
void ArchiveServerLog(const std::string& log_path);

}  // namespace token::testing

#endif  // TOKEN_TESTS_E2E_SECRET_RECORDER_H_
