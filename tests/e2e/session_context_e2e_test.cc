// Custom claims, scopes, step-up context and session metadata end to end:
// the real binary over loopback gRPC against the harness's PostgreSQL.
#include <set>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_calls.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::IssueTokensRequest ContextRequest(const std::string& subject) {
  v1::IssueTokensRequest request;
  request.set_subject(subject);
  request.add_roles("reader");
  auto& fields = *request.mutable_claims()->mutable_fields();
  fields["tenant"].set_string_value("acme");
  fields["plan_id"].set_number_value(42);
  request.add_scopes("read");
  request.add_scopes("write");
  request.mutable_auth_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 30);
  request.add_amr("pwd");
  request.add_amr("otp");
  request.set_acr("urn:example:loa:2");
  (*request.mutable_metadata())["device"] = "Alice's phone";
  return request;
}

// The context rides along ten rotations, VerifyAccess returns it, and the
// step-up checks answer as documented.
TEST(SessionContextE2eTest, ClaimsSurviveTenRotationsAndStepUpChecks) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  v1::TokenPair pair = Issue(*server, ContextRequest("ctx-chain"));
  for (int i = 0; i <= 10; ++i) {
    v1::VerifyAccessRequest verify;
    verify.set_access_token(pair.access_token());
    verify.add_required_scopes("write");
    verify.mutable_max_auth_age()->set_seconds(3600);
    verify.add_acceptable_acr("urn:example:loa:2");
    v1::VerifyAccessResponse claims;
    grpc::Status status = Verify(*server, verify, &claims);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
    EXPECT_EQ(claims.claims().fields().at("tenant").string_value(), "acme");
    EXPECT_EQ(claims.claims().fields().at("plan_id").number_value(), 42);
    EXPECT_THAT(claims.scopes(), ::testing::ElementsAre("read", "write"));
    EXPECT_THAT(claims.amr(), ::testing::ElementsAre("pwd", "otp"));
    EXPECT_EQ(claims.acr(), "urn:example:loa:2");
    if (i < 10) {
      ASSERT_TRUE(Refresh(*server, pair.refresh_token(), &pair).ok());
    }
  }
  v1::VerifyAccessRequest fresh_login;
  fresh_login.set_access_token(pair.access_token());
  fresh_login.mutable_max_auth_age()->set_seconds(5);
  v1::VerifyAccessResponse ignored;
  grpc::Status status = Verify(*server, fresh_login, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorReasonOf(status), "INSUFFICIENT_USER_AUTHENTICATION");
  v1::VerifyAccessRequest pay_scope;
  pay_scope.set_access_token(pair.access_token());
  pay_scope.add_required_scopes("payments:write");
  status = Verify(*server, pay_scope, &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ErrorReasonOf(status), "MISSING_SCOPE");
  EXPECT_THAT(server->Log(), Not(HasSubstr(pair.refresh_token())));
}

// Concurrent UpdateSession and RefreshTokens on one session, through the
// database's row lock: every refresh succeeds and the last update wins.
TEST(SessionContextE2eTest, UpdateSessionRacingRefreshLosesNothing) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  v1::TokenPair pair = Issue(*server, ContextRequest("ctx-race"));
  constexpr int kRounds = 40;
  std::thread updater([&] {
    for (int i = 0; i < kRounds; ++i) {
      v1::UpdateSessionRequest update;
      update.set_session_id(pair.session_id());
      (*update.mutable_claims()->mutable_fields())["v"].set_number_value(i);
      update.mutable_update_mask()->add_paths("claims");
      v1::UpdateSessionResponse response;
      grpc::Status status =
          server->stub().UpdateSession(ContextWithDeadline().get(), update, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
  });
  v1::TokenPair current = pair;
  for (int i = 0; i < kRounds; ++i) {
    grpc::Status status = Refresh(*server, current.refresh_token(), &current);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  updater.join();
  ASSERT_TRUE(Refresh(*server, current.refresh_token(), &current).ok());
  v1::VerifyAccessRequest verify;
  verify.set_access_token(current.access_token());
  v1::VerifyAccessResponse claims;
  ASSERT_TRUE(Verify(*server, verify, &claims).ok());
  EXPECT_EQ(claims.claims().fields().at("v").number_value(), kRounds - 1);
  EXPECT_EQ(claims.claims().fields().count("tenant"), 0u);  // Replaced, not merged.

  v1::ListSessionsRequest list;
  list.set_subject("ctx-race");
  v1::ListSessionsResponse page;
  ASSERT_TRUE(server->stub().ListSessions(ContextWithDeadline().get(), list, &page).ok());
  ASSERT_EQ(page.sessions_size(), 1);
  EXPECT_EQ(page.sessions(0).metadata().at("device"), "Alice's phone");
  EXPECT_EQ(page.sessions(0).claims().fields().at("v").number_value(), kRounds - 1);
}

// "Log out my other devices": RevokeAll with except_session_id.
TEST(SessionContextE2eTest, RevokeAllExceptKeepsTheCurrentDevice) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  v1::TokenPair phone = Issue(*server, ContextRequest("ctx-devices"));
  v1::TokenPair laptop = Issue(*server, ContextRequest("ctx-devices"));
  v1::TokenPair tablet = Issue(*server, ContextRequest("ctx-devices"));
  v1::RevokeAllRequest revoke;
  revoke.set_subject("ctx-devices");
  revoke.set_except_session_id(laptop.session_id());
  v1::RevokeAllResponse revoked;
  ASSERT_TRUE(server->stub().RevokeAll(ContextWithDeadline().get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.revoked_sessions(), 2);
  for (const v1::TokenPair* gone : {&phone, &tablet}) {
    v1::VerifyAccessRequest verify;
    verify.set_access_token(gone->access_token());
    v1::VerifyAccessResponse ignored;
    EXPECT_EQ(ErrorReasonOf(Verify(*server, verify, &ignored)), "TOKEN_REVOKED");
  }
  v1::TokenPair next;
  EXPECT_TRUE(Refresh(*server, laptop.refresh_token(), &next).ok());
}

// auth_time may lie in the future by at most --clock-skew (the login
// service's clock may run ahead), the flag the verifier uses too.
TEST(SessionContextE2eTest, FutureAuthTimeBoundedByClockSkewFlag) {
  auto server = StartServer({"--clock-skew=2s"});
  ASSERT_NE(server, nullptr);
  v1::IssueTokensRequest ahead = ContextRequest("ctx-skew");
  ahead.mutable_auth_time()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 20);
  v1::IssueTokensResponse response;
  grpc::Status status = server->stub().IssueTokens(ContextWithDeadline().get(), ahead, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorReasonOf(status), "INVALID_CLAIMS");
  EXPECT_THAT(status.error_message(), HasSubstr("auth_time"));
}

}  // namespace
}  // namespace token::testing
