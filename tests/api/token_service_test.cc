// TokenServiceHandlers in-process: a real gRPC server on 127.0.0.1 port 0
// (the kernel picks; the bound port is read back), the fake store and a fake
// clock. What only the API layer does: OVERLOADED when the worker queue is
// full, calls whose caller left while queued skipped, the default deadline,
// per-field reasons for bytes that do not decode, and ErrorInfo details.
#include "server/api/token_service.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"
#include "server/metrics/metrics.h"
#include "server/session/access_verifier.h"
#include "server/session/refresh_token.h"
#include "server/session/revocation_set.h"
#include "server/session/session_service.h"
#include "tests/common/fake_clock.h"
#include "tests/keys/test_keys.h"
#include "tests/session/fake_session_store.h"
#include "token/v1/token.grpc.pb.h"

namespace token {
namespace {

using test::FakeSessionStore;

const KeySetPtr& TestKeys() { return testing::TestKeySet(); }

// ErrorInfoOf returns the token.v1 ErrorInfo in a failed call's details.
std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.domain() == "token.v1") return info;
  }
  return std::nullopt;
}

::testing::AssertionResult Fails(const grpc::Status& status, grpc::StatusCode code,
                                 const std::string& reason) {
  const std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  if (status.error_code() != code || !info.has_value() || info->reason() != reason) {
    return ::testing::AssertionFailure()
           << "got code " << status.error_code() << " reason "
           << (info.has_value() ? info->reason() : "(none)") << ": " << status.error_message();
  }
  return ::testing::AssertionSuccess();
}

class TokenServiceTest : public ::testing::Test {
 protected:
  // One worker and one queue slot make the queue easy to fill.
  TokenServiceTest()
      : clock_(absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()))),
        store_(&clock_),
        keys_(TestKeys()),
        chain_(std::string(32, 'K')),
        revocations_(absl::Minutes(16)),
        sessions_(Options(), store_, keys_, chain_, clock_, revocations_),
        verifier_({.issuer = "token-service", .default_audience = "api"}, keys_, revocations_,
                  clock_),
        workers_(/*threads=*/1, /*max_queued=*/1),
        handlers_(sessions_, verifier_, workers_, clock_, metrics_) {
    revocations_.ReplaceAll({});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&handlers_);
    server_ = builder.BuildAndStart();
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    stub_ = v1::TokenService::NewStub(channel_);
  }

  ~TokenServiceTest() override {
    store_.SetAfterRotateHook(nullptr);
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  static SessionOptions Options() {
    SessionOptions options;
    options.issuer = "token-service";
    options.default_audience = "api";
    return options;
  }

  grpc::Status Issue(const std::string& subject, v1::IssueTokensResponse* response,
                     std::optional<absl::Duration> timeout = absl::Seconds(10)) {
    grpc::ClientContext context;
    if (timeout.has_value()) context.set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
    v1::IssueTokensRequest request;
    request.set_subject(subject);
    return stub_->IssueTokens(&context, request, response);
  }

  // Raw sends `bytes` as the request of `method` and returns the status.
  grpc::Status Raw(const std::string& method, const std::string& bytes) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status result;
    generic.UnaryCall(&context, absl::StrCat("/token.v1.TokenService/", method), {}, &request,
                      &response, [&](grpc::Status s) {
                        result = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    return result;
  }

  FakeClock clock_;
  FakeSessionStore store_;
  KeyProvider keys_;
  RefreshSecretChain chain_;
  RevocationSet revocations_;
  SessionService sessions_;
  AccessVerifier verifier_;
  BoundedExecutor workers_;
  Metrics metrics_;
  TokenServiceHandlers handlers_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TokenService::Stub> stub_;
};

// The server listens on the port the kernel picked, read back from the builder.
TEST_F(TokenServiceTest, BoundPortServes) {
  ASSERT_GT(port_, 0);
  v1::IssueTokensResponse response;
  ASSERT_TRUE(Issue("alice", &response).ok());
  EXPECT_FALSE(response.tokens().refresh_token().empty());
}

// With the worker busy and the queue full, a call is answered OVERLOADED at
// once; a queued call whose deadline passes while it waits is skipped without
// touching the store.
TEST_F(TokenServiceTest, FullQueueOverloadedAndExpiredQueuedCallSkipped) {
  v1::IssueTokensResponse issued;
  ASSERT_TRUE(Issue("alice", &issued).ok());
  absl::Notification entered, release;
  store_.SetAfterRotateHook([&] {
    entered.Notify();
    release.WaitForNotification();
  });
  std::thread busy([&] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::RefreshTokensRequest request;
    request.set_refresh_token(issued.tokens().refresh_token());
    v1::RefreshTokensResponse response;
    EXPECT_TRUE(stub_->RefreshTokens(&context, request, &response).ok());
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Takes the only queue slot; its deadline passes while it waits there.
  grpc::Status queued_status;
  std::thread queued([&] {
    v1::IssueTokensResponse response;
    queued_status = Issue("bob", &response, absl::Seconds(20));
  });
  const absl::Time poll_deadline = absl::Now() + absl::Seconds(10);
  while (workers_.queued() < 1 && absl::Now() < poll_deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(workers_.queued(), 1);
  v1::IssueTokensResponse overloaded;
  EXPECT_TRUE(
      Fails(Issue("carol", &overloaded), grpc::StatusCode::RESOURCE_EXHAUSTED, "OVERLOADED"));
  const absl::Time start = clock_.Now();
  clock_.Advance(absl::Minutes(1));  // Past the queued call's deadline.
  release.Notify();
  busy.join();
  queued.join();
  clock_.Set(start);
  EXPECT_EQ(queued_status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(store_.calls().create_session, 1);  // alice only.
  EXPECT_EQ(workers_.queued(), 0);
}

// A call without a deadline gets the default one, so it cannot hold a worker
// forever; a shorter deadline of the caller's is passed through.
TEST_F(TokenServiceTest, DefaultDeadlineAppliesWhenCallerSetsNone) {
  v1::IssueTokensResponse response;
  ASSERT_TRUE(Issue("alice", &response, std::nullopt).ok());
  ASSERT_TRUE(store_.last_deadline().has_value());
  EXPECT_EQ(*store_.last_deadline(), clock_.Now() + TokenServiceHandlers::kDefaultDeadline);
  const absl::Time before = absl::Now();
  ASSERT_TRUE(Issue("alice", &response, absl::Seconds(5)).ok());
  EXPECT_GE(*store_.last_deadline(), before + absl::Seconds(4));
  // The server's copy of the deadline starts when it reads the call.
  EXPECT_LE(*store_.last_deadline(), absl::Now() + absl::Seconds(6));
}

// Request bytes that do not decode get INVALID_ARGUMENT with the reason of the
// field at fault, never INTERNAL; the store is never called.
TEST_F(TokenServiceTest, UndecodableFieldsGetPerFieldReasons) {
  const std::string bad_utf8 = "\xC3\x28";
  auto field = [&](int number) {
    return std::string(1, static_cast<char>(number << 3 | 2)) + std::string(1, 2) + bad_utf8;
  };
  EXPECT_TRUE(
      Fails(Raw("IssueTokens", field(1)), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_SUBJECT"));
  EXPECT_TRUE(
      Fails(Raw("IssueTokens", field(2)), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLAIMS"));
  EXPECT_TRUE(Fails(Raw("RefreshTokens", field(1)), grpc::StatusCode::UNAUTHENTICATED,
                    "REFRESH_TOKEN_INVALID"));
  EXPECT_TRUE(
      Fails(Raw("VerifyAccess", field(1)), grpc::StatusCode::UNAUTHENTICATED, "TOKEN_MALFORMED"));
  EXPECT_TRUE(Fails(Raw("RevokeSession", field(1)), grpc::StatusCode::INVALID_ARGUMENT,
                    "INVALID_SESSION_ID"));
  EXPECT_TRUE(Fails(Raw("ListSessions", field(3)), grpc::StatusCode::INVALID_ARGUMENT,
                    "INVALID_PAGE_TOKEN"));
  EXPECT_TRUE(Fails(Raw("IssueTokens", "\xff\xff\xff"), grpc::StatusCode::INVALID_ARGUMENT,
                    "INVALID_REQUEST"));
  EXPECT_EQ(store_.calls().total(), 0);
}

// A failure carries a google.rpc.Status whose code and message match the
// call's, with exactly one ErrorInfo in domain token.v1.
TEST_F(TokenServiceTest, ErrorDetailsCarryStatusAndErrorInfo) {
  grpc::ClientContext context;
  v1::VerifyAccessRequest request;
  request.set_access_token("not-a-jwt");
  v1::VerifyAccessResponse response;
  const grpc::Status status = stub_->VerifyAccess(&context, request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(details.message(), status.error_message());
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.domain(), "token.v1");
  EXPECT_EQ(info.reason(), "TOKEN_MALFORMED");
}

absl::Time TimeOf(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// ListSessions shows every recorded field of a session: who, roles, the
// client the last refresh reported, its four times and its revocation.
TEST_F(TokenServiceTest, ListSessionsShowsEveryField) {
  // The handlers hold deadlines against the fake clock, which runs ahead here.
  auto context = [this] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(absl::ToChronoTime(std::max(absl::Now(), clock_.Now()) + absl::Seconds(10)));
    return c;
  };
  const absl::Time created = clock_.Now();
  v1::IssueTokensRequest issue;
  issue.set_subject("alice");
  issue.add_roles("admin");
  issue.add_roles("auditor");
  issue.mutable_client()->set_user_agent("first-agent");
  issue.mutable_client()->set_ip_address("192.0.2.1");
  v1::IssueTokensResponse issued;
  ASSERT_TRUE(stub_->IssueTokens(context().get(), issue, &issued).ok());

  clock_.Advance(absl::Minutes(5));
  const absl::Time refreshed = clock_.Now();
  v1::RefreshTokensRequest refresh;
  refresh.set_refresh_token(issued.tokens().refresh_token());
  refresh.mutable_client()->set_user_agent("second-agent");
  refresh.mutable_client()->set_ip_address("2001:db8::1");
  v1::RefreshTokensResponse rotated;
  ASSERT_TRUE(stub_->RefreshTokens(context().get(), refresh, &rotated).ok());

  clock_.Advance(absl::Minutes(1));
  const absl::Time revoked = clock_.Now();
  v1::RevokeSessionRequest revoke;
  revoke.set_session_id(issued.tokens().session_id());
  revoke.set_reason("logout");
  v1::RevokeSessionResponse revoke_response;
  ASSERT_TRUE(stub_->RevokeSession(context().get(), revoke, &revoke_response).ok());

  v1::ListSessionsRequest list;
  list.set_subject("alice");
  v1::ListSessionsResponse page;
  ASSERT_TRUE(stub_->ListSessions(context().get(), list, &page).ok());
  ASSERT_EQ(page.sessions_size(), 1);
  const v1::Session& session = page.sessions(0);
  EXPECT_EQ(session.session_id(), issued.tokens().session_id());
  EXPECT_EQ(session.subject(), "alice");
  ASSERT_EQ(session.roles_size(), 2);
  EXPECT_EQ(session.roles(0), "admin");
  EXPECT_EQ(session.roles(1), "auditor");
  EXPECT_EQ(session.client().user_agent(), "second-agent");
  EXPECT_EQ(session.client().ip_address(), "2001:db8::1");
  EXPECT_EQ(TimeOf(session.created_at()), created);
  EXPECT_EQ(TimeOf(session.last_used_at()), refreshed);
  EXPECT_EQ(TimeOf(session.expires_at()), refreshed + Options().refresh_idle_ttl);
  EXPECT_EQ(TimeOf(session.absolute_expires_at()), created + Options().refresh_absolute_ttl);
  ASSERT_TRUE(session.has_revoked_at());
  EXPECT_EQ(TimeOf(session.revoked_at()), revoked);
  EXPECT_EQ(session.revoke_reason(), "logout");
  EXPECT_TRUE(page.next_page_token().empty());
}

// Custom claims, scopes and step-up context go in through IssueTokens, come
// back from VerifyAccess and ListSessions, and change through UpdateSession.
TEST_F(TokenServiceTest, ContextRoundTripsAndUpdates) {
  grpc::ClientContext issue_context;
  issue_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::IssueTokensRequest issue;
  issue.set_subject("alice");
  google::protobuf::Struct& claims = *issue.mutable_claims();
  (*claims.mutable_fields())["tenant"].set_string_value("acme");
  (*claims.mutable_fields())["n"].set_number_value(5);
  (*claims.mutable_fields())["ratio"].set_number_value(0.5);
  issue.add_scopes("read");
  issue.mutable_auth_time()->set_seconds(absl::ToUnixSeconds(clock_.Now()) - 60);
  issue.add_amr("pwd");
  issue.set_acr("loa2");
  (*issue.mutable_metadata())["device"] = "phone";
  v1::IssueTokensResponse issued;
  grpc::Status status = stub_->IssueTokens(&issue_context, issue, &issued);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Integral numbers are JSON integers in the token itself.
  const std::string& token = issued.tokens().access_token();
  const std::string payload =
      token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  std::string json;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(payload, &json));
  EXPECT_NE(json.find(R"("n":5,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("ratio":0.5)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("scope":"read")"), std::string::npos) << json;

  grpc::ClientContext verify_context;
  v1::VerifyAccessRequest verify;
  verify.set_access_token(token);
  verify.add_required_scopes("read");
  verify.mutable_max_auth_age()->set_seconds(120);
  verify.add_acceptable_acr("loa2");
  v1::VerifyAccessResponse verified;
  status = stub_->VerifyAccess(&verify_context, verify, &verified);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(verified.claims().fields().at("tenant").string_value(), "acme");
  EXPECT_EQ(verified.claims().fields().at("n").number_value(), 5);
  EXPECT_EQ(verified.claims().fields().count("sub"), 0u);
  ASSERT_EQ(verified.scopes_size(), 1);
  EXPECT_EQ(verified.auth_time().seconds(), absl::ToUnixSeconds(clock_.Now()) - 60);
  EXPECT_EQ(verified.acr(), "loa2");

  grpc::ClientContext update_context;
  update_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::UpdateSessionRequest update;
  update.set_session_id(issued.tokens().session_id());
  update.set_acr("loa3");
  update.add_scopes("ignored: not in the mask");
  update.mutable_update_mask()->add_paths("acr");
  update.mutable_update_mask()->add_paths("metadata");  // Unset: cleared.
  v1::UpdateSessionResponse updated;
  status = stub_->UpdateSession(&update_context, update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.session().acr(), "loa3");
  EXPECT_EQ(updated.session().metadata_size(), 0);
  ASSERT_EQ(updated.session().scopes_size(), 1);
  EXPECT_EQ(updated.session().scopes(0), "read");
  EXPECT_EQ(updated.session().claims().fields().at("tenant").string_value(), "acme");
}

// UpdateSession's mask, Struct numbers JSON cannot carry, and Durations out of
// range are the caller's errors, with the documented reasons.
TEST_F(TokenServiceTest, ContextInputErrors) {
  v1::IssueTokensResponse issued;
  ASSERT_TRUE(Issue("alice", &issued).ok());
  auto update = [&](const v1::UpdateSessionRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::UpdateSessionResponse response;
    return stub_->UpdateSession(&context, request, &response);
  };
  v1::UpdateSessionRequest empty_mask;
  empty_mask.set_session_id(issued.tokens().session_id());
  empty_mask.set_acr("x");
  EXPECT_TRUE(Fails(update(empty_mask), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"));
  v1::UpdateSessionRequest unknown_path = empty_mask;
  unknown_path.mutable_update_mask()->add_paths("subject");
  EXPECT_TRUE(Fails(update(unknown_path), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"));
  v1::UpdateSessionRequest unknown_session = empty_mask;
  unknown_session.set_session_id("00000000-0000-4000-8000-000000000000");
  unknown_session.mutable_update_mask()->add_paths("acr");
  EXPECT_TRUE(Fails(update(unknown_session), grpc::StatusCode::NOT_FOUND, "SESSION_NOT_FOUND"));
  v1::UpdateSessionRequest nan = empty_mask;
  (*nan.mutable_claims()->mutable_fields())["x"].set_number_value(std::nan(""));
  nan.mutable_update_mask()->add_paths("claims");
  const grpc::Status nan_status = update(nan);
  EXPECT_TRUE(Fails(nan_status, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_CLAIMS"));
  EXPECT_NE(nan_status.error_message().find("claims.x"), std::string::npos);

  grpc::ClientContext verify_context;
  v1::VerifyAccessRequest verify;
  verify.set_access_token(issued.tokens().access_token());
  verify.mutable_max_auth_age()->set_seconds(10);
  verify.mutable_max_auth_age()->set_nanos(-1);
  v1::VerifyAccessResponse verified;
  EXPECT_TRUE(Fails(stub_->VerifyAccess(&verify_context, verify, &verified),
                    grpc::StatusCode::INVALID_ARGUMENT, "INVALID_REQUEST"));

  grpc::ClientContext revoke_context;
  revoke_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::RevokeAllRequest revoke;
  revoke.set_subject("alice");
  revoke.set_except_session_id("not-a-uuid");
  v1::RevokeAllResponse revoked;
  EXPECT_TRUE(Fails(stub_->RevokeAll(&revoke_context, revoke, &revoked),
                    grpc::StatusCode::INVALID_ARGUMENT, "INVALID_SESSION_ID"));
}

}  // namespace
}  // namespace token
