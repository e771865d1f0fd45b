// The plain calls end-to-end tests make against a TokenServerProcess: start
// one on the harness's PostgreSQL, issue, refresh, verify. Each uses a fresh
// ContextWithDeadline.
#ifndef TOKEN_TESTS_E2E_E2E_CALLS_H_
#define TOKEN_TESTS_E2E_E2E_CALLS_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tests/e2e/token_server_process.h"
#include "token/v1/token.pb.h"

namespace token::testing {

// StartServer starts token-server on the PostgreSQL of
// tests/harness/postgres_environment.h (the test binary must include it) with
// TokenServerProcess::Start's `flags` and `key_dir`. On failure it fails the
// current test and returns null.
std::unique_ptr<TokenServerProcess> StartServer(std::vector<std::string> flags = {},
                                                std::string key_dir = "");

// Issue issues a pair for `subject` (no roles, the default audience), failing
// the current test if the call fails.
v1::TokenPair Issue(TokenServerProcess& server, const std::string& subject);

// Issue sends `request`, failing the current test if the call fails.
v1::TokenPair Issue(TokenServerProcess& server, const v1::IssueTokensRequest& request);

// Refresh presents `refresh_token`; the new pair goes to `out` unless it is
// null.
grpc::Status Refresh(TokenServerProcess& server, const std::string& refresh_token,
                     v1::TokenPair* out);

// Verify checks `access_token` with VerifyAccess and no further requirement.
grpc::Status Verify(TokenServerProcess& server, const std::string& access_token);

// Verify sends `request` to VerifyAccess; the claims go to `out`.
grpc::Status Verify(TokenServerProcess& server, const v1::VerifyAccessRequest& request,
                    v1::VerifyAccessResponse* out);

}  // namespace token::testing

#endif  // TOKEN_TESTS_E2E_E2E_CALLS_H_
