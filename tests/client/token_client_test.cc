// TokenClient over a fake transport: typed results, reasons as an enum,
// retries only of UNAVAILABLE (bounded in attempts and by the deadline, no
// real sleeping), single-flight refresh proven with call counters, and
// successors held after lost answers.
#include "client/cpp/token_client.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_transport.h"
#include "tests/harness/poll.h"

namespace token::client {
namespace {

using ::testing::ElementsAre;
using ::token::client::testing::Answer;
using ::token::client::testing::ErrorStatus;
using ::token::client::testing::FakeClock;
using ::token::client::testing::FakeTransport;
using ::token::client::testing::KeepLastRequest;
using ::token::testing::PollUntil;

constexpr absl::Duration kTimeout = absl::Seconds(2);

struct Fixture {
  explicit Fixture(RetryPolicy retry = {}) {
    auto fake = std::make_unique<FakeTransport>();
    transport = fake.get();
    client = std::make_unique<TokenClient>(
        std::move(fake), TokenClientOptions{.timeout = kTimeout, .retry = retry, .clock = &clock});
  }
  FakeClock clock;
  FakeTransport* transport = nullptr;
  std::unique_ptr<TokenClient> client;
};

// IssueTokens' proto answer becomes a typed TokenPair.
TEST(TokenClientTest, IssueReturnsTypedPair) {
  Fixture f;
  absl::Time seen_deadline;
  f.transport->on_issue = [&, next = f.transport->on_issue](absl::Time d,
                                                            const v1::IssueTokensRequest& r,
                                                            v1::IssueTokensResponse* out) {
    seen_deadline = d;
    EXPECT_EQ(r.subject(), "alice");
    EXPECT_THAT(r.roles(), ElementsAre("admin", "reader"));
    EXPECT_EQ(r.client().user_agent(), "ua");
    return next(d, r, out);
  };
  Result<TokenPair> pair = f.client->Issue(
      {.subject = "alice", .roles = {"admin", "reader"}, .client = ClientInfo{"ua", ""}});
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  EXPECT_EQ(pair->access_token, "access-for-alice");
  EXPECT_EQ(pair->refresh_token, "tsr1_refresh-for-alice");
  EXPECT_EQ(pair->token_type, "Bearer");
  EXPECT_EQ(pair->access_expires_at, absl::FromUnixSeconds(1700000900));
  EXPECT_EQ(seen_deadline, f.clock.Now() + kTimeout);
}

// VerifyAccess' claims, ListSessions' optional revoked_at: typed.
TEST(TokenClientTest, VerifyAndListSessionsReturnTypedResults) {
  Fixture f;
  Result<AccessClaims> claims = f.client->Verify({.access_token = "t"});
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_THAT(claims->roles, ElementsAre("admin"));
  EXPECT_EQ(claims->issued_at, absl::FromUnixSeconds(1700000000));

  f.transport->on_list = [](absl::Time, const v1::ListSessionsRequest& r,
                            v1::ListSessionsResponse* out) {
    EXPECT_EQ(r.page_size(), 5);
    EXPECT_EQ(r.page_token(), "p1");
    out->add_sessions()->set_session_id("live");
    v1::Session* revoked = out->add_sessions();
    revoked->set_session_id("gone");
    revoked->mutable_revoked_at()->set_seconds(1700000100);
    revoked->set_revoke_reason("logout");
    out->set_next_page_token("p2");
    return grpc::Status::OK;
  };
  Result<SessionPage> page = f.client->ListSessions("alice", 5, "p1");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->sessions.size(), 2u);
  EXPECT_FALSE(page->sessions[0].revoked_at.has_value());
  EXPECT_EQ(page->sessions[1].revoked_at, absl::FromUnixSeconds(1700000100));
  EXPECT_EQ(page->next_page_token, "p2");

  EXPECT_EQ(*f.client->RevokeAll("alice"), 3);
  EXPECT_TRUE(*f.client->RevokeSession("00000000-0000-4000-8000-000000000001"));
}

// A refusal surfaces code, reason enum and message after exactly one attempt.
TEST(TokenClientTest, RefusalCarriesReasonEnumAndIsNotRetried) {
  Fixture f;
  f.transport->on_verify =
      Answer(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "TOKEN_EXPIRED", "token expired"));
  Result<AccessClaims> claims = f.client->Verify({.access_token = "t"});
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.error().code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(claims.error().reason, ErrorReason::TOKEN_EXPIRED);
  EXPECT_EQ(claims.error().message, "token expired");
  EXPECT_EQ(claims.error().attempts, 1);
  EXPECT_EQ(claims.error().ToString(), "UNAUTHENTICATED/TOKEN_EXPIRED: token expired");
  EXPECT_EQ(f.transport->verify_calls.load(), 1);
  EXPECT_TRUE(f.clock.sleeps().empty());
}

// Only UNAVAILABLE is retried: every other failure code is one attempt.
TEST(TokenClientTest, NonUnavailableCodesAreNeverRetried) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN,
        grpc::StatusCode::ABORTED}) {
    Fixture f;
    f.transport->on_refresh = Answer(ErrorStatus(code, "WHATEVER"));
    Result<TokenPair> r = f.client->Refresh({.refresh_token = "tsr1_x"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code);
    EXPECT_EQ(f.transport->refresh_calls.load(), 1) << static_cast<int>(code);
  }
}

// UNAVAILABLE twice, then success: three attempts, two growing pauses.
TEST(TokenClientTest, UnavailableIsRetriedWithBackoffThenSucceeds) {
  Fixture f(RetryPolicy{.max_attempts = 4,
                        .initial_backoff = absl::Milliseconds(10),
                        .max_backoff = absl::Seconds(1),
                        .multiplier = 2.0,
                        .jitter = 0.2});
  int failures_left = 2;
  f.transport->on_issue = [&, next = f.transport->on_issue](absl::Time d,
                                                            const v1::IssueTokensRequest& r,
                                                            v1::IssueTokensResponse* out) {
    if (failures_left-- > 0) {
      return ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE");
    }
    return next(d, r, out);
  };
  Result<TokenPair> pair = f.client->Issue({.subject = "bob"});
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  EXPECT_EQ(f.transport->issue_calls.load(), 3);
  const std::vector<absl::Duration> sleeps = f.clock.sleeps();
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0], absl::Milliseconds(8));
  EXPECT_LE(sleeps[0], absl::Milliseconds(12));
  EXPECT_GE(sleeps[1], absl::Milliseconds(16));
  EXPECT_LE(sleeps[1], absl::Milliseconds(24));
}

// Always UNAVAILABLE: exactly max_attempts calls, then the last error.
TEST(TokenClientTest, RetriesStopAtMaxAttempts) {
  Fixture f(RetryPolicy{.max_attempts = 4, .initial_backoff = absl::Milliseconds(1)});
  f.transport->on_verify = Answer(ErrorStatus(grpc::StatusCode::UNAVAILABLE, "SERVICE_NOT_READY"));
  Result<AccessClaims> r = f.client->Verify({.access_token = "t"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(r.error().reason, ErrorReason::SERVICE_NOT_READY);
  EXPECT_EQ(r.error().attempts, 4);
  EXPECT_EQ(f.transport->verify_calls.load(), 4);
  EXPECT_EQ(f.clock.sleeps().size(), 3u);
}

// Retries never pause past the deadline, and every attempt carries the
// call's one deadline: 300 ms budget, pauses 100 then 200 ms ⇒ two attempts.
TEST(TokenClientTest, RetriesRespectTheDeadline) {
  Fixture f(RetryPolicy{.max_attempts = 10,
                        .initial_backoff = absl::Milliseconds(100),
                        .max_backoff = absl::Seconds(10),
                        .multiplier = 2.0,
                        .jitter = 0.0});
  const absl::Time start = f.clock.Now();
  const absl::Time deadline = start + absl::Milliseconds(300);
  std::vector<absl::Time> deadlines;
  f.transport->on_revoke_all = [&](absl::Time d, const v1::RevokeAllRequest&,
                                   v1::RevokeAllResponse*) {
    deadlines.push_back(d);
    return ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE");
  };
  Result<int64_t> r = f.client->RevokeAll("carol", "", deadline);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(f.transport->revoke_all_calls.load(), 2);
  EXPECT_THAT(deadlines, ElementsAre(deadline, deadline));
  EXPECT_LE(f.clock.Now(), deadline);
}

// A deadline already in the past makes no call at all.
TEST(TokenClientTest, PastDeadlineMakesNoCall) {
  Fixture f;
  Result<bool> r = f.client->RevokeSession("s", "", f.clock.Now() - absl::Seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(r.error().attempts, 0);
  EXPECT_EQ(f.transport->revoke_session_calls.load(), 0);
}

// Calls Refresh({token}) from `callers` threads at once. The one
// RefreshTokens RPC is held until every other caller waits on it (checked:
// exactly one RPC so far), then `answer` answers it. Returns each caller's
// result.
std::vector<std::optional<Result<TokenPair>>> RefreshConcurrently(
    Fixture& f, const std::string& token, int callers,
    FakeTransport::Handler<v1::RefreshTokensRequest, v1::RefreshTokensResponse> answer) {
  // Shared with the handler, which outlives this call in the fixture.
  auto release = std::make_shared<absl::Notification>();
  f.transport->on_refresh = [release, answer = std::move(answer)](absl::Time d,
                                                                  const v1::RefreshTokensRequest& r,
                                                                  v1::RefreshTokensResponse* out) {
    release->WaitForNotification();
    return answer(d, r, out);
  };
  std::vector<std::optional<Result<TokenPair>>> results(callers);
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i) {
    threads.emplace_back([&, i] { results[i] = f.client->Refresh({.refresh_token = token}); });
  }
  // Everyone has joined the one call in flight before it is allowed to end.
  EXPECT_TRUE(PollUntil(
      [&] {
        return f.client->RefreshWaiters(token) == callers - 1 &&
               f.transport->refresh_calls.load() > 0;
      },
      absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(f.transport->refresh_calls.load(), 1);
  release->Notify();
  for (auto& t : threads) t.join();
  return results;
}

// 16 concurrent Refresh calls with one token: exactly one RefreshTokens RPC,
// and every caller receives its successor.
TEST(TokenClientTest, ConcurrentRefreshesOfOneTokenMakeOneCall) {
  Fixture f;
  const auto results = RefreshConcurrently(f, "tsr1_a", 16, f.transport->on_refresh);
  EXPECT_EQ(f.transport->refresh_calls.load(), 1);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value() && r->ok());
    EXPECT_EQ((*r)->refresh_token, "tsr1_a+1");
  }
}

// Failures are shared too: one failed RPC, every waiter gets the reason.
TEST(TokenClientTest, ConcurrentRefreshesShareTheFailure) {
  Fixture f;
  const auto results = RefreshConcurrently(
      f, "tsr1_b", 4,
      Answer(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "REFRESH_TOKEN_REUSED")));
  EXPECT_EQ(f.transport->refresh_calls.load(), 1);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value() && !r->ok());
    EXPECT_EQ(r->error().reason, ErrorReason::REFRESH_TOKEN_REUSED);
  }
}

// Refreshes one after another, or of different tokens, are separate calls.
TEST(TokenClientTest, SequentialOrDifferentTokenRefreshesAreSeparateCalls) {
  Fixture f;
  EXPECT_TRUE(f.client->Refresh({.refresh_token = "tsr1_c"}).ok());
  EXPECT_TRUE(f.client->Refresh({.refresh_token = "tsr1_c"}).ok());
  EXPECT_TRUE(f.client->Refresh({.refresh_token = "tsr1_d"}).ok());
  EXPECT_EQ(f.transport->refresh_calls.load(), 3);
}

// The fake's refresh answers: the first `lost` attempts end without an
// answer (`lost_status`, no ErrorInfo), later ones rotate token → token+"+1".
// Every attempt's token and clock time are recorded.
struct RecordedRefresh {
  std::string token;
  absl::Time at;
};
void LoseFirstRefreshAnswers(Fixture& f, int lost, grpc::Status lost_status,
                             std::vector<RecordedRefresh>* seen) {
  f.transport->on_refresh = [&f, lost, lost_status, seen, next = f.transport->on_refresh](
                                absl::Time d, const v1::RefreshTokensRequest& r,
                                v1::RefreshTokensResponse* out) mutable {
    seen->push_back({r.refresh_token(), f.clock.Now()});
    if (lost-- > 0) return lost_status;
    return next(d, r, out);
  };
}

// A retry after a transport failure gets the successor; presenting that
// successor waits until the unanswered attempt's deadline plus the transit
// margin has passed, so no late copy of the lost call can still arrive.
TEST(TokenClientTest, SuccessorAfterAnUnansweredAttemptIsHeldUntilItsDeadlinePassed) {
  Fixture f(RetryPolicy{.max_attempts = 3, .initial_backoff = absl::Milliseconds(10)});
  std::vector<RecordedRefresh> seen;
  LoseFirstRefreshAnswers(f, 1, grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset"),
                          &seen);
  const absl::Time deadline = f.clock.Now() + absl::Seconds(1);
  Result<TokenPair> pair = f.client->Refresh({.refresh_token = "tsr1_a"}, deadline);
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  EXPECT_EQ(pair->refresh_token, "tsr1_a+1");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_LT(seen[1].at, deadline);  // answered at once, not held itself

  Result<TokenPair> next = f.client->Refresh({.refresh_token = "tsr1_a+1"});
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].token, "tsr1_a+1");
  EXPECT_EQ(seen[2].at, deadline + absl::Milliseconds(100));
}

// A caller's own deadline (DEADLINE_EXCEEDED, no ErrorInfo) leaves the call
// in doubt too; the caller retries the same token with a new call, and the
// successor waits for the first call's deadline plus the margin.
TEST(TokenClientTest, SuccessorAfterACallThatTimedOutIsHeld) {
  Fixture f;
  std::vector<RecordedRefresh> seen;
  const absl::Time first_deadline = f.clock.Now() + absl::Milliseconds(500);
  f.transport->on_refresh = [&, next = f.transport->on_refresh](absl::Time d,
                                                                const v1::RefreshTokensRequest& r,
                                                                v1::RefreshTokensResponse* out) {
    seen.push_back({r.refresh_token(), f.clock.Now()});
    if (seen.size() == 1) {
      f.clock.Advance(d - f.clock.Now());
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
    }
    return next(d, r, out);
  };
  Result<TokenPair> lost = f.client->Refresh({.refresh_token = "tsr1_b"}, first_deadline);
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.error().reason_name, "");

  f.clock.Advance(absl::Milliseconds(30));
  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_b"}).ok());
  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_b+1"}).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].at, first_deadline + absl::Milliseconds(100));
}

// A refusal with an ErrorInfo is an answer: the service finished with the
// request, so the successor of the retry is not held.
TEST(TokenClientTest, AnsweredFailureHoldsNothing) {
  Fixture f(RetryPolicy{.max_attempts = 3, .initial_backoff = absl::Milliseconds(10)});
  std::vector<RecordedRefresh> seen;
  LoseFirstRefreshAnswers(f, 1, ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE"),
                          &seen);
  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_c"}).ok());
  const absl::Time answered = f.clock.Now();
  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_c+1"}).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].at, answered);
}

// A held successor presented with a deadline before the hold ends makes no
// call: DEADLINE_EXCEEDED with attempts == 0 at the caller's deadline. Once
// the hold is over, the same token goes through.
TEST(TokenClientTest, HeldSuccessorPastTheCallersDeadlineMakesNoCall) {
  Fixture f(RetryPolicy{.max_attempts = 3, .initial_backoff = absl::Milliseconds(10)});
  std::vector<RecordedRefresh> seen;
  LoseFirstRefreshAnswers(f, 1, grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset"),
                          &seen);
  const absl::Time deadline = f.clock.Now() + absl::Seconds(1);
  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_d"}, deadline).ok());

  const absl::Time short_deadline = f.clock.Now() + absl::Milliseconds(200);
  Result<TokenPair> early = f.client->Refresh({.refresh_token = "tsr1_d+1"}, short_deadline);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(early.error().attempts, 0);
  EXPECT_EQ(f.clock.Now(), short_deadline);
  EXPECT_EQ(seen.size(), 2u);

  ASSERT_TRUE(f.client->Refresh({.refresh_token = "tsr1_d+1"}).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].at, deadline + absl::Milliseconds(100));
}

// Custom claims, scopes, step-up context and metadata travel in
// IssueTokensRequest: the JSON object becomes the Struct member by member.
TEST(TokenClientTest, IssueSendsClaimsScopesStepUpContextAndMetadata) {
  Fixture f;
  v1::IssueTokensRequest sent;
  KeepLastRequest(f.transport->on_issue, &sent);
  const absl::Time auth_time = absl::FromUnixSeconds(1699999000) + absl::Milliseconds(250);
  Result<TokenPair> pair = f.client->Issue({
      .subject = "alice",
      .claims_json = R"({"tenant": "acme", "n": 5, "flags": {"beta": true}, "tags": ["a", null]})",
      .scopes = {"read", "write"},
      .auth_time = auth_time,
      .amr = {"pwd", "otp"},
      .acr = "urn:acr:2fa",
      .metadata = {{"device", "laptop"}, {"login", "password"}},
  });
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  ASSERT_TRUE(sent.has_claims());
  const auto& fields = sent.claims().fields();
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields.at("tenant").string_value(), "acme");
  EXPECT_EQ(fields.at("n").number_value(), 5.0);
  EXPECT_TRUE(fields.at("flags").struct_value().fields().at("beta").bool_value());
  ASSERT_EQ(fields.at("tags").list_value().values_size(), 2);
  EXPECT_EQ(fields.at("tags").list_value().values(0).string_value(), "a");
  EXPECT_TRUE(fields.at("tags").list_value().values(1).has_null_value());
  EXPECT_THAT(sent.scopes(), ElementsAre("read", "write"));
  ASSERT_TRUE(sent.has_auth_time());
  EXPECT_EQ(sent.auth_time().seconds(), 1699999000);
  EXPECT_EQ(sent.auth_time().nanos(), 250000000);
  EXPECT_THAT(sent.amr(), ElementsAre("pwd", "otp"));
  EXPECT_EQ(sent.acr(), "urn:acr:2fa");
  ASSERT_EQ(sent.metadata().size(), 2u);
  EXPECT_EQ(sent.metadata().at("device"), "laptop");
  EXPECT_EQ(sent.metadata().at("login"), "password");
}

// Without context nothing optional is set: no claims Struct, no auth_time.
TEST(TokenClientTest, IssueWithoutContextLeavesTheNewFieldsUnset) {
  Fixture f;
  v1::IssueTokensRequest sent;
  KeepLastRequest(f.transport->on_issue, &sent);
  ASSERT_TRUE(f.client->Issue({.subject = "alice"}).ok());
  EXPECT_FALSE(sent.has_claims());
  EXPECT_FALSE(sent.has_auth_time());
  EXPECT_TRUE(sent.scopes().empty());
  EXPECT_TRUE(sent.amr().empty());
  EXPECT_EQ(sent.acr(), "");
  EXPECT_TRUE(sent.metadata().empty());
}

// claims_json that is not a JSON object, or holds an integer a double cannot
// carry exactly, is refused before any RPC: INVALID_ARGUMENT /
// INVALID_CLAIMS, attempts 0, a message naming the field but not the input.
TEST(TokenClientTest, BadClaimsJsonIsRefusedWithoutACall) {
  for (const std::string& bad :
       {std::string("not json"), std::string(R"({"secret-ish": )"), std::string("[1, 2]"),
        std::string("5"), std::string(R"("text")"), std::string(R"({"big": 9007199254740993})"),
        std::string(R"({"deep": {"list": [-9007199254740993]}})")}) {
    SCOPED_TRACE(bad);
    Fixture f;
    Result<TokenPair> pair = f.client->Issue({.subject = "alice", .claims_json = bad});
    ASSERT_FALSE(pair.ok());
    EXPECT_EQ(pair.error().code, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(pair.error().reason, ErrorReason::INVALID_CLAIMS);
    EXPECT_EQ(pair.error().reason_name, "INVALID_CLAIMS");
    EXPECT_EQ(pair.error().attempts, 0);
    EXPECT_THAT(pair.error().message, ::testing::StartsWith("claims_json"));
    EXPECT_THAT(pair.error().message, ::testing::Not(::testing::HasSubstr("secret-ish")));
    EXPECT_EQ(f.transport->issue_calls.load(), 0);

    Result<SessionInfo> updated = f.client->UpdateSession({.session_id = "s", .claims_json = bad});
    ASSERT_FALSE(updated.ok());
    EXPECT_EQ(updated.error().reason, ErrorReason::INVALID_CLAIMS);
    EXPECT_EQ(f.transport->update_calls.load(), 0);
  }
  // 2^53 itself is exact and goes through.
  Fixture f;
  ASSERT_TRUE(
      f.client->Issue({.subject = "a", .claims_json = R"({"max": 9007199254740992})"}).ok());
}

// VerifyAccess carries the step-up requirements; its answer's context is
// typed, with claims as sorted compact JSON and integral numbers as integers.
TEST(TokenClientTest, VerifySendsRequirementsAndDecodesContext) {
  Fixture f;
  v1::VerifyAccessRequest sent;
  f.transport->on_verify = [next = f.transport->on_verify](absl::Time d,
                                                           const v1::VerifyAccessRequest& r,
                                                           v1::VerifyAccessResponse* out) {
    grpc::Status status = next(d, r, out);
    auto& fields = *out->mutable_claims()->mutable_fields();
    fields["tenant"].set_string_value("acme");
    fields["n"].set_number_value(5);
    fields["ratio"].set_number_value(0.5);
    (*fields["flags"].mutable_struct_value()->mutable_fields())["beta"].set_bool_value(true);
    out->add_scopes("read");
    out->add_scopes("pay");
    out->mutable_auth_time()->set_seconds(1699999900);
    out->add_amr("pwd");
    out->add_amr("hwk");
    out->set_acr("urn:acr:2fa");
    return status;
  };
  KeepLastRequest(f.transport->on_verify, &sent);
  Result<AccessClaims> claims = f.client->Verify({
      .access_token = "t",
      .required_scopes = {"pay"},
      .max_auth_age = absl::Minutes(5) + absl::Milliseconds(500),
      .acceptable_acr = {"urn:acr:2fa", "urn:acr:hwk"},
  });
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  EXPECT_THAT(sent.required_scopes(), ElementsAre("pay"));
  ASSERT_TRUE(sent.has_max_auth_age());
  EXPECT_EQ(sent.max_auth_age().seconds(), 300);
  EXPECT_EQ(sent.max_auth_age().nanos(), 500000000);
  EXPECT_THAT(sent.acceptable_acr(), ElementsAre("urn:acr:2fa", "urn:acr:hwk"));

  EXPECT_EQ(claims->claims_json, R"({"flags":{"beta":true},"n":5,"ratio":0.5,"tenant":"acme"})");
  EXPECT_THAT(claims->scopes, ElementsAre("read", "pay"));
  EXPECT_EQ(claims->auth_time, absl::FromUnixSeconds(1699999900));
  EXPECT_THAT(claims->amr, ElementsAre("pwd", "hwk"));
  EXPECT_EQ(claims->acr, "urn:acr:2fa");
}

// A token without context: no max_auth_age sent, claims "{}", no auth_time.
TEST(TokenClientTest, VerifyWithoutContextDecodesEmpty) {
  Fixture f;
  v1::VerifyAccessRequest sent;
  KeepLastRequest(f.transport->on_verify, &sent);
  Result<AccessClaims> claims = f.client->Verify({.access_token = "t"});
  ASSERT_TRUE(claims.ok());
  EXPECT_FALSE(sent.has_max_auth_age());
  EXPECT_EQ(claims->claims_json, "{}");
  EXPECT_FALSE(claims->auth_time.has_value());
  EXPECT_TRUE(claims->scopes.empty());
  EXPECT_EQ(claims->acr, "");
}

// The step-up refusals keep their reason enums.
TEST(TokenClientTest, StepUpRefusalsCarryTheirReasons) {
  Fixture f;
  f.transport->on_verify = [](absl::Time, const v1::VerifyAccessRequest& r,
                              v1::VerifyAccessResponse*) {
    if (!r.required_scopes().empty()) {
      return ErrorStatus(grpc::StatusCode::PERMISSION_DENIED, "MISSING_SCOPE");
    }
    return ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "INSUFFICIENT_USER_AUTHENTICATION");
  };
  Result<AccessClaims> scope = f.client->Verify({.access_token = "t", .required_scopes = {"pay"}});
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.error().reason, ErrorReason::MISSING_SCOPE);
  Result<AccessClaims> age =
      f.client->Verify({.access_token = "t", .max_auth_age = absl::Minutes(5)});
  ASSERT_FALSE(age.ok());
  EXPECT_EQ(age.error().reason, ErrorReason::INSUFFICIENT_USER_AUTHENTICATION);
  EXPECT_EQ(age.error().attempts, 1);
  f.transport->on_update = Answer(ErrorStatus(grpc::StatusCode::NOT_FOUND, "SESSION_NOT_FOUND"));
  Result<SessionInfo> missing = f.client->UpdateSession({.session_id = "s", .acr = "x"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().reason, ErrorReason::SESSION_NOT_FOUND);
  EXPECT_EQ(f.transport->update_calls.load(), 1);
}

// ListSessions decodes each session's context and metadata.
TEST(TokenClientTest, ListSessionsDecodesContextAndMetadata) {
  Fixture f;
  f.transport->on_list = [](absl::Time, const v1::ListSessionsRequest&,
                            v1::ListSessionsResponse* out) {
    v1::Session* s = out->add_sessions();
    s->set_session_id("with");
    (*s->mutable_claims()->mutable_fields())["tenant"].set_string_value("acme");
    s->add_scopes("read");
    s->mutable_auth_time()->set_seconds(1699999000);
    s->add_amr("pwd");
    s->set_acr("1");
    (*s->mutable_metadata())["device"] = "phone";
    out->add_sessions()->set_session_id("without");
    return grpc::Status::OK;
  };
  Result<SessionPage> page = f.client->ListSessions("alice");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->sessions.size(), 2u);
  const SessionInfo& with = page->sessions[0];
  EXPECT_EQ(with.claims_json, R"({"tenant":"acme"})");
  EXPECT_THAT(with.scopes, ElementsAre("read"));
  EXPECT_EQ(with.auth_time, absl::FromUnixSeconds(1699999000));
  EXPECT_THAT(with.amr, ElementsAre("pwd"));
  EXPECT_EQ(with.acr, "1");
  EXPECT_EQ(with.metadata, (SessionMetadata{{"device", "phone"}}));
  const SessionInfo& without = page->sessions[1];
  EXPECT_EQ(without.claims_json, "{}");
  EXPECT_FALSE(without.auth_time.has_value());
  EXPECT_TRUE(without.metadata.empty());
}

// update_mask names exactly the engaged fields; engaged empty values are
// sent as cleared fields; the response session is typed.
TEST(TokenClientTest, UpdateSessionMaskNamesExactlyTheEngagedFields) {
  Fixture f;
  std::vector<v1::UpdateSessionRequest> sent;
  f.transport->on_update = [&](absl::Time, const v1::UpdateSessionRequest& r,
                               v1::UpdateSessionResponse* out) {
    sent.push_back(r);
    out->mutable_session()->set_session_id(r.session_id());
    out->mutable_session()->mutable_auth_time()->set_seconds(1700000000);
    out->mutable_session()->add_amr("pwd");
    return grpc::Status::OK;
  };
  Result<SessionInfo> all = f.client->UpdateSession({
      .session_id = "sid-1",
      .roles = std::vector<std::string>{"admin"},
      .claims_json = R"({"tenant": "acme"})",
      .scopes = std::vector<std::string>{"pay"},
      .auth_time = std::optional<absl::Time>(absl::FromUnixSeconds(1700000000)),
      .amr = std::vector<std::string>{"pwd", "otp"},
      .acr = "urn:acr:2fa",
      .metadata = SessionMetadata{{"device", "laptop"}},
  });
  ASSERT_TRUE(all.ok()) << all.error().ToString();
  EXPECT_EQ(all->session_id, "sid-1");
  EXPECT_EQ(all->auth_time, absl::FromUnixSeconds(1700000000));
  EXPECT_THAT(all->amr, ElementsAre("pwd"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].session_id(), "sid-1");
  EXPECT_THAT(sent[0].update_mask().paths(),
              ElementsAre("roles", "claims", "scopes", "auth_time", "amr", "acr", "metadata"));
  EXPECT_THAT(sent[0].roles(), ElementsAre("admin"));
  EXPECT_EQ(sent[0].claims().fields().at("tenant").string_value(), "acme");
  EXPECT_THAT(sent[0].scopes(), ElementsAre("pay"));
  EXPECT_EQ(sent[0].auth_time().seconds(), 1700000000);
  EXPECT_THAT(sent[0].amr(), ElementsAre("pwd", "otp"));
  EXPECT_EQ(sent[0].acr(), "urn:acr:2fa");
  EXPECT_EQ(sent[0].metadata().at("device"), "laptop");

  // Only what is engaged; clearing is engaged-and-empty.
  ASSERT_TRUE(f.client
                  ->UpdateSession({.session_id = "sid-1",
                                   .claims_json = "",
                                   .auth_time = std::optional<absl::Time>(),
                                   .acr = ""})
                  .ok());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[1].update_mask().paths(), ElementsAre("claims", "auth_time", "acr"));
  EXPECT_FALSE(sent[1].has_claims());
  EXPECT_FALSE(sent[1].has_auth_time());
  EXPECT_TRUE(sent[1].roles().empty());

  ASSERT_TRUE(f.client->UpdateSession({.session_id = "sid-1", .metadata = SessionMetadata{}}).ok());
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_THAT(sent[2].update_mask().paths(), ElementsAre("metadata"));
  EXPECT_TRUE(sent[2].metadata().empty());
}

// An update with no engaged field is refused in the client: no RPC.
TEST(TokenClientTest, UpdateSessionWithNothingToUpdateMakesNoCall) {
  Fixture f;
  Result<SessionInfo> none = f.client->UpdateSession({.session_id = "sid-1"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(none.error().reason, ErrorReason::INVALID_REQUEST);
  EXPECT_EQ(none.error().attempts, 0);
  EXPECT_EQ(f.transport->update_calls.load(), 0);
}

// UpdateSession sets values, so UNAVAILABLE is retried like the other calls.
TEST(TokenClientTest, UpdateSessionRetriesUnavailable) {
  Fixture f(RetryPolicy{.max_attempts = 3, .initial_backoff = absl::Milliseconds(10)});
  int calls = 0;
  f.transport->on_update = [&](absl::Time, const v1::UpdateSessionRequest& r,
                               v1::UpdateSessionResponse* out) {
    if (++calls == 1) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
    out->mutable_session()->set_session_id(r.session_id());
    out->mutable_session()->set_acr(r.acr());
    return grpc::Status::OK;
  };
  Result<SessionInfo> updated = f.client->UpdateSession({.session_id = "sid-1", .acr = "2"});
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ(updated->acr, "2");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f.clock.sleeps().size(), 1u);
}

// RevokeAll's except_session_id reaches the wire; the old form sends none.
TEST(TokenClientTest, RevokeAllCarriesTheException) {
  Fixture f;
  std::vector<v1::RevokeAllRequest> sent;
  f.transport->on_revoke_all = [&](absl::Time, const v1::RevokeAllRequest& r,
                                   v1::RevokeAllResponse* out) {
    sent.push_back(r);
    out->set_revoked_sessions(2);
    return grpc::Status::OK;
  };
  Result<int64_t> revoked = f.client->RevokeAll(
      {.subject = "alice", .reason = "other devices", .except_session_id = "keep-me"});
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 2);
  ASSERT_TRUE(f.client->RevokeAll("alice").ok());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].subject(), "alice");
  EXPECT_EQ(sent[0].reason(), "other devices");
  EXPECT_EQ(sent[0].except_session_id(), "keep-me");
  EXPECT_EQ(sent[1].except_session_id(), "");
}

}  // namespace
}  // namespace token::client
