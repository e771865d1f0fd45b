// Two token-server replicas on one database: a replica whose revocation feed
// stalls stops answering "valid" for a token revoked on the other within the
// freshness bound, and a NOTIFY anyone can send does not lock a subject out.
#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_calls.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

// The revocation set's staleness bound (kRevocationFeedMaxStaleness).
constexpr absl::Duration kFreshnessBound = absl::Seconds(5);

class RevocationFeedE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The writer names its connections, so that the replica's feed is the
    // only "token-server-feed" backend.
    auto writer = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo() +
                                            " application_name=e2e-writer");
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = *std::move(writer);
    // The same keys: tokens from either replica verify on both.
    auto replica =
        TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), {}, writer_->key_dir());
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
  }
  void TearDown() override {
    replica_.reset();  // Uses the writer's key directory.
    writer_.reset();
  }

  std::unique_ptr<TokenServerProcess> writer_;
  std::unique_ptr<TokenServerProcess> replica_;
};

// The replica's feed backend is stopped (SIGSTOP: its socket stays open and
// its kernel still ACKs). A session revoked on the writer must stop verifying
// on the replica within the bound, by SERVICE_NOT_READY or TOKEN_REVOKED; once
// the feed has given up on the stopped backend and reloaded, TOKEN_REVOKED.
TEST_F(RevocationFeedE2eTest, StalledFeedFailsClosedThenCatchesUp) {
  const v1::TokenPair pair = Issue(*writer_, "e2e-stalled-feed");
  ASSERT_TRUE(Verify(*replica_, pair.access_token()).ok());

  absl::StatusOr<std::string> pid_text = PostgresEnvironment::Get().Query(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'token-server-feed'");
  ASSERT_TRUE(pid_text.ok()) << pid_text.status();
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*pid_text, &pid)) << "feed backends: " << *pid_text;
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  absl::Cleanup resume = [pid] { kill(pid, SIGCONT); };

  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(pair.session_id());
  v1::RevokeSessionResponse revoked;
  ASSERT_TRUE(writer_->stub().RevokeSession(ContextWithDeadline().get(), revoke, &revoked).ok());
  ASSERT_TRUE(revoked.revoked());
  const absl::Time revoked_at = absl::Now();

  auto refused = [&] {
    const std::string reason = ErrorReasonOf(Verify(*replica_, pair.access_token()));
    return reason == "SERVICE_NOT_READY" || reason == "TOKEN_REVOKED";
  };
  EXPECT_TRUE(PollUntil(refused, kFreshnessBound + absl::Seconds(1)))
      << "still valid on the replica " << absl::Now() - revoked_at << " after the revocation";
  EXPECT_TRUE(PollUntil(
      [&] { return ErrorReasonOf(Verify(*replica_, pair.access_token())) == "TOKEN_REVOKED"; },
      absl::Seconds(20)));
  // And it is ready again, with the old backend still stopped.
  EXPECT_TRUE(
      PollUntil([&] { return replica_->HttpGet("/readyz").status == 200; }, absl::Seconds(10)));
}

// NOTIFY from any database role with a far-future subject revocation: no
// replica records it, and the subject's new tokens verify everywhere.
TEST_F(RevocationFeedE2eTest, SpoofedSubjectNotificationDoesNotLockOut) {
  ASSERT_TRUE(PostgresEnvironment::Get()
                  .Psql("NOTIFY token_revocations, 'subject 4102444800000000 e2e-alice'")
                  .ok());
  // A real revocation after it: once the replica has it, it has seen the
  // spoofed notification too (notifications arrive in commit order).
  const v1::TokenPair marker = Issue(*writer_, "e2e-marker");
  v1::RevokeAllRequest revoke_all;
  revoke_all.set_subject("e2e-marker");
  v1::RevokeAllResponse revoked_all;
  ASSERT_TRUE(
      writer_->stub().RevokeAll(ContextWithDeadline().get(), revoke_all, &revoked_all).ok());
  ASSERT_TRUE(PollUntil(
      [&] { return ErrorReasonOf(Verify(*replica_, marker.access_token())) == "TOKEN_REVOKED"; },
      absl::Seconds(10)));

  for (TokenServerProcess* issuer : {writer_.get(), replica_.get()}) {
    const v1::TokenPair alice = Issue(*issuer, "e2e-alice");
    // Not pushed into the far future by a spoofed revocation time.
    EXPECT_LT(alice.access_expires_at().seconds(),
              absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    for (TokenServerProcess* verifier : {writer_.get(), replica_.get()}) {
      const grpc::Status status = Verify(*verifier, alice.access_token());
      EXPECT_TRUE(status.ok()) << ErrorReasonOf(status) << ": " << status.error_message();
    }
  }
}

}  // namespace
}  // namespace token::testing
