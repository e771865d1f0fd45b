// Session families end to end: rotation, grace retries, reuse detection,
// revocation across replicas and lifetimes, through the real binary.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/e2e/e2e_calls.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A chain of 100 refreshes keeps the session and hands out a new token each time.
TEST(RefreshE2eTest, RotationChainOfHundredRefreshes) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  v1::TokenPair pair = Issue(*server, "chain");
  std::set<std::string> seen = {pair.refresh_token()};
  for (int i = 0; i < 100; ++i) {
    v1::TokenPair next;
    grpc::Status status = Refresh(*server, pair.refresh_token(), &next);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
    EXPECT_EQ(next.session_id(), pair.session_id());
    EXPECT_TRUE(seen.insert(next.refresh_token()).second);
    ASSERT_TRUE(Verify(*server, next.access_token()).ok());
    pair = next;
  }
  // No token of the run appears in the server's log.
  const std::string log = server->Log();
  for (const std::string& token : seen) EXPECT_THAT(log, Not(HasSubstr(token)));
}

// 64 concurrent refreshes of one token: all succeed with the identical successor.
TEST(RefreshE2eTest, ConcurrentRefreshesShareOneSuccessor) {
  auto server = StartServer({"--db-pool-size=8"});
  ASSERT_NE(server, nullptr);
  const v1::TokenPair pair = Issue(*server, "race");
  constexpr int kCallers = 64;
  std::vector<grpc::Status> statuses(kCallers);
  std::vector<v1::TokenPair> results(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = Refresh(*server, pair.refresh_token(), &results[i]); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_code() << " " << statuses[i].error_message();
    EXPECT_EQ(results[i].refresh_token(), results[0].refresh_token());
    EXPECT_EQ(results[i].session_id(), pair.session_id());
  }
  EXPECT_NE(results[0].refresh_token(), pair.refresh_token());
  // The family did not fork: the one successor works, and then its parent is reuse.
  v1::TokenPair next;
  ASSERT_TRUE(Refresh(*server, results[0].refresh_token(), &next).ok());
  EXPECT_EQ(ErrorReasonOf(Refresh(*server, pair.refresh_token(), nullptr)), "REFRESH_TOKEN_REUSED");
}

// A retry after a lost response gets the same successor; the successor's first
// use closes the window; replaying the parent then revokes the family and its
// access tokens.
TEST(RefreshE2eTest, GraceRetryThenReuseRevokesFamily) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const v1::TokenPair first = Issue(*server, "grace");
  v1::TokenPair lost, retried;
  ASSERT_TRUE(Refresh(*server, first.refresh_token(), &lost).ok());
  ASSERT_TRUE(Refresh(*server, first.refresh_token(), &retried).ok());
  EXPECT_EQ(retried.refresh_token(), lost.refresh_token());
  EXPECT_NE(retried.access_token(), lost.access_token());

  v1::TokenPair third;
  ASSERT_TRUE(Refresh(*server, retried.refresh_token(), &third).ok());
  grpc::Status reuse = Refresh(*server, first.refresh_token(), nullptr);
  EXPECT_EQ(reuse.error_code(), grpc::UNAUTHENTICATED);
  EXPECT_EQ(ErrorReasonOf(reuse), "REFRESH_TOKEN_REUSED");

  grpc::Status revoked = Verify(*server, third.access_token());
  EXPECT_EQ(ErrorReasonOf(revoked), "TOKEN_REVOKED");
  EXPECT_EQ(ErrorReasonOf(Refresh(*server, third.refresh_token(), nullptr)), "SESSION_REVOKED");
  EXPECT_THAT(server->Log(), HasSubstr("\"event\":\"refresh_token_reused\""));
}

// After the grace window the parent's replay is reuse: the family is revoked
// and its access token fails VerifyAccess with TOKEN_REVOKED.
TEST(RefreshE2eTest, ReplayAfterGraceWindowRevokesFamily) {
  auto server = StartServer({"--reuse-grace=1s"});
  ASSERT_NE(server, nullptr);
  const v1::TokenPair first = Issue(*server, "after-window");
  v1::TokenPair second;
  ASSERT_TRUE(Refresh(*server, first.refresh_token(), &second).ok());
  // Inside the window the replay is a retry; it turns into reuse once it closes.
  std::string reason;
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::TokenPair retry;
        grpc::Status status = Refresh(*server, first.refresh_token(), &retry);
        if (status.ok()) {
          EXPECT_EQ(retry.refresh_token(), second.refresh_token());
          return false;
        }
        reason = ErrorReasonOf(status);
        return true;
      },
      absl::Seconds(10), absl::Milliseconds(100)));
  EXPECT_EQ(reason, "REFRESH_TOKEN_REUSED");
  EXPECT_EQ(ErrorReasonOf(Verify(*server, second.access_token())), "TOKEN_REVOKED");
}

// With the grace window disabled, replaying the parent is reuse at once.
TEST(RefreshE2eTest, GraceDisabledReplayIsReuse) {
  auto server = StartServer({"--reuse-grace=0s"});
  ASSERT_NE(server, nullptr);
  const v1::TokenPair first = Issue(*server, "no-grace");
  ASSERT_TRUE(Refresh(*server, first.refresh_token(), nullptr).ok());
  EXPECT_EQ(ErrorReasonOf(Refresh(*server, first.refresh_token(), nullptr)),
            "REFRESH_TOKEN_REUSED");
}

// A forged token (our prefix and a real session id, wrong secret) revokes nothing.
TEST(RefreshE2eTest, ForgedTokenRevokesNothing) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const v1::TokenPair pair = Issue(*server, "victim");
  std::string forged = pair.refresh_token();
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(ErrorReasonOf(Refresh(*server, forged, nullptr)), "REFRESH_TOKEN_INVALID");
  EXPECT_TRUE(Verify(*server, pair.access_token()).ok());
  EXPECT_TRUE(Refresh(*server, pair.refresh_token(), nullptr).ok());
}

// RevokeAll on one replica is honoured by VerifyAccess on another within 1 s.
TEST(RefreshE2eTest, RevokeAllReachesOtherReplicaWithinOneSecond) {
  // Replicas share the key directory, as pods share one mounted Secret.
  auto a = StartServer();
  ASSERT_NE(a, nullptr);
  auto b = StartServer({}, a->key_dir());
  ASSERT_NE(b, nullptr);
  const v1::TokenPair one = Issue(*a, "everywhere");
  const v1::TokenPair two = Issue(*b, "everywhere");
  ASSERT_TRUE(Verify(*b, one.access_token()).ok());

  v1::RevokeAllRequest request;
  request.set_subject("everywhere");
  request.set_reason("password changed");
  v1::RevokeAllResponse response;
  ASSERT_TRUE(a->stub().RevokeAll(ContextWithDeadline().get(), request, &response).ok());
  EXPECT_EQ(response.revoked_sessions(), 2);
  EXPECT_TRUE(PollUntil(
      [&] {
        return ErrorReasonOf(Verify(*b, one.access_token())) == "TOKEN_REVOKED" &&
               ErrorReasonOf(Verify(*b, two.access_token())) == "TOKEN_REVOKED";
      },
      absl::Seconds(1)));
  EXPECT_THAT(a->Log(), HasSubstr("\"event\":\"revoke_all\""));
}

// RevokeSession and ListSessions through the API, with pagination.
TEST(RefreshE2eTest, RevokeSessionAndListSessions) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::vector<v1::TokenPair> pairs;
  for (int i = 0; i < 5; ++i) pairs.push_back(Issue(*server, "lister"));

  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(pairs[0].session_id());
  v1::RevokeSessionResponse revoked;
  ASSERT_TRUE(server->stub().RevokeSession(ContextWithDeadline().get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.revoked());
  ASSERT_TRUE(server->stub().RevokeSession(ContextWithDeadline().get(), revoke, &revoked).ok());
  EXPECT_FALSE(revoked.revoked());
  EXPECT_EQ(ErrorReasonOf(Verify(*server, pairs[0].access_token())), "TOKEN_REVOKED");

  std::set<std::string> listed;
  v1::ListSessionsRequest list;
  list.set_subject("lister");
  list.set_page_size(2);
  int pages = 0;
  do {
    v1::ListSessionsResponse page;
    ASSERT_TRUE(server->stub().ListSessions(ContextWithDeadline().get(), list, &page).ok());
    for (const auto& s : page.sessions()) {
      listed.insert(s.session_id());
      EXPECT_EQ(s.has_revoked_at(), s.session_id() == pairs[0].session_id());
    }
    list.set_page_token(page.next_page_token());
    ++pages;
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(listed.size(), 5u);
  EXPECT_EQ(pages, 3);
  const std::string log = server->Log();
  EXPECT_THAT(log,
              HasSubstr("\"event\":\"revoke_session\",\"subject\":\"lister\",\"session_id\":\"" +
                        pairs[0].session_id() + "\""));
  for (const auto& pair : pairs) EXPECT_THAT(log, Not(HasSubstr(pair.refresh_token())));
}

// Short configured lifetimes: the access token expires, then the idle refresh.
TEST(RefreshE2eTest, ShortLifetimesExpire) {
  auto server = StartServer(
      {"--access-ttl=1s", "--clock-skew=0s", "--refresh-idle-ttl=2s", "--refresh-absolute-ttl=1h"});
  ASSERT_NE(server, nullptr);
  const v1::TokenPair pair = Issue(*server, "short");
  EXPECT_TRUE(PollUntil(
      [&] { return ErrorReasonOf(Verify(*server, pair.access_token())) == "TOKEN_EXPIRED"; },
      absl::Seconds(10)));
  EXPECT_TRUE(PollUntil(
      [&] {
        return ErrorReasonOf(Refresh(*server, pair.refresh_token(), nullptr)) ==
               "REFRESH_TOKEN_EXPIRED";
      },
      absl::Seconds(10)));
}

// The absolute lifetime ends a session however often it is refreshed.
TEST(RefreshE2eTest, AbsoluteLifetimeEndsActiveSession) {
  auto server = StartServer({"--refresh-idle-ttl=2s", "--refresh-absolute-ttl=3s"});
  ASSERT_NE(server, nullptr);
  v1::TokenPair pair = Issue(*server, "absolute");
  const int64_t absolute_end = pair.refresh_expires_at().seconds() + 1;
  std::string reason;
  EXPECT_TRUE(PollUntil(
      [&] {
        v1::TokenPair next;
        grpc::Status status = Refresh(*server, pair.refresh_token(), &next);
        if (status.ok()) {
          EXPECT_LE(next.refresh_expires_at().seconds(), absolute_end + 1);
          pair = next;
          return false;
        }
        reason = ErrorReasonOf(status);
        return true;
      },
      absl::Seconds(15), absl::Milliseconds(200)));
  EXPECT_EQ(reason, "REFRESH_TOKEN_EXPIRED");
}

// With the database down, calls needing it get UNAVAILABLE (never INTERNAL),
// /readyz turns 503, and everything recovers when the database returns.
TEST(RefreshE2eTest, DatabaseOutageIsUnavailableAndRecovers) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const v1::TokenPair pair = Issue(*server, "outage");
  PostgresServer& pg = PostgresEnvironment::Mutable();
  ASSERT_TRUE(pg.StopImmediate().ok());

  v1::IssueTokensRequest request;
  request.set_subject("outage");
  v1::IssueTokensResponse response;
  grpc::Status down =
      server->stub().IssueTokens(ContextWithDeadline(absl::Seconds(3)).get(), request, &response);
  EXPECT_EQ(down.error_code(), grpc::UNAVAILABLE) << down.error_message();
  EXPECT_EQ(ErrorReasonOf(down), "DATABASE_UNAVAILABLE");
  grpc::Status refresh = Refresh(*server, pair.refresh_token(), nullptr);
  EXPECT_EQ(refresh.error_code(), grpc::UNAVAILABLE);
  EXPECT_TRUE(
      PollUntil([&] { return server->HttpGet("/readyz").status == 503; }, absl::Seconds(10)));

  ASSERT_TRUE(pg.Restart().ok());
  EXPECT_TRUE(
      PollUntil([&] { return server->HttpGet("/readyz").status == 200; }, absl::Seconds(20)));
  EXPECT_TRUE(Refresh(*server, pair.refresh_token(), nullptr).ok());
}

// A refresh whose caller cancelled while it waited for a worker is dropped,
// not carried out late: a late rotation would turn the caller's retry chain
// into apparent reuse. One worker (pool size 1) is held by a refresh blocked
// on a table lock; the second refresh queues behind it and is cancelled.
TEST(RefreshE2eTest, RefreshCancelledWhileQueuedIsNotCarriedOut) {
  auto server = StartServer({"--db-pool-size=1"});
  ASSERT_NE(server, nullptr);
  const v1::TokenPair blocker = Issue(*server, "queue-blocker");
  const v1::TokenPair queued = Issue(*server, "queue-cancelled");

  pqxx::connection admin(PostgresEnvironment::Get().conninfo());
  pqxx::work lock(admin);
  lock.exec0("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE");

  grpc::Status blocker_status;
  std::thread blocked([&] { blocker_status = Refresh(*server, blocker.refresh_token(), nullptr); });
  // The blocker must hold the worker before the second call arrives. (EXPECT,
  // not ASSERT, here and below: the threads must be joined either way.)
  EXPECT_TRUE(PollUntil(
      [&] {
        return server->HttpGet("/metrics").body.find("token_db_pool_in_use 1") != std::string::npos;
      },
      absl::Seconds(10)));

  grpc::ClientContext cancelled_context;
  cancelled_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status cancelled_status;
  std::thread cancelled([&] {
    v1::RefreshTokensRequest request;
    request.set_refresh_token(queued.refresh_token());
    v1::RefreshTokensResponse response;
    cancelled_status = server->stub().RefreshTokens(&cancelled_context, request, &response);
  });
  EXPECT_TRUE(PollUntil(
      [&] {
        return server->HttpGet("/metrics").body.find("token_worker_queue 1") != std::string::npos;
      },
      absl::Seconds(10)));
  cancelled_context.TryCancel();
  cancelled.join();
  EXPECT_EQ(cancelled_status.error_code(), grpc::StatusCode::CANCELLED);

  lock.commit();
  blocked.join();
  EXPECT_TRUE(blocker_status.ok()) << blocker_status.error_message();
  // The worker has reached the cancelled call once the server counts it.
  EXPECT_TRUE(PollUntil(
      [&] {
        return server->HttpGet("/metrics")
                   .body.find(
                       "token_rpc_calls_total{code=\"CANCELLED\",reason=\"\",rpc=\"RefreshTokens\"}"
                       " 1") != std::string::npos;
      },
      absl::Seconds(10)));

  // Never rotated: the token is still the head and was never used.
  pqxx::work check(admin);
  const auto row =
      check.exec1("SELECT generation, last_used_at = created_at FROM sessions WHERE session_id = " +
                  check.quote(queued.session_id()));
  EXPECT_EQ(row[0].as<int64_t>(), 0);
  EXPECT_TRUE(row[1].as<bool>());
  check.commit();
  v1::TokenPair next;
  ASSERT_TRUE(Refresh(*server, queued.refresh_token(), &next).ok());
  EXPECT_TRUE(Refresh(*server, next.refresh_token(), nullptr).ok());
}

}  // namespace
}  // namespace token::testing
