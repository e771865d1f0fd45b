#include "tests/e2e/e2e_calls.h"

#include <utility>

#include "gtest/gtest.h"
#include "tests/harness/postgres_fixture.h"

namespace token::testing {

std::unique_ptr<TokenServerProcess> StartServer(std::vector<std::string> flags,
                                                std::string key_dir) {
  auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), std::move(flags),
                                          std::move(key_dir));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

v1::TokenPair Issue(TokenServerProcess& server, const std::string& subject) {
  v1::IssueTokensRequest request;
  request.set_subject(subject);
  return Issue(server, request);
}

v1::TokenPair Issue(TokenServerProcess& server, const v1::IssueTokensRequest& request) {
  v1::IssueTokensResponse response;
  grpc::Status status = server.stub().IssueTokens(ContextWithDeadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.tokens();
}

grpc::Status Refresh(TokenServerProcess& server, const std::string& refresh_token,
                     v1::TokenPair* out) {
  v1::RefreshTokensRequest request;
  request.set_refresh_token(refresh_token);
  v1::RefreshTokensResponse response;
  grpc::Status status =
      server.stub().RefreshTokens(ContextWithDeadline().get(), request, &response);
  if (out != nullptr) *out = response.tokens();
  return status;
}

grpc::Status Verify(TokenServerProcess& server, const std::string& access_token) {
  v1::VerifyAccessRequest request;
  request.set_access_token(access_token);
  v1::VerifyAccessResponse response;
  return Verify(server, request, &response);
}

grpc::Status Verify(TokenServerProcess& server, const v1::VerifyAccessRequest& request,
                    v1::VerifyAccessResponse* out) {
  return server.stub().VerifyAccess(ContextWithDeadline().get(), request, out);
}

}  // namespace token::testing
