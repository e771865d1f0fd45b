// Test doubles for the client library: FakeTransport (scriptable per RPC,
// counting every call) with the handler helpers Answer and KeepLastRequest,
// FakeClock (advances on SleepFor instead of sleeping) and ErrorStatus (a
// grpc::Status carrying a token.v1 ErrorInfo, as the service sends it).
#ifndef TOKEN_TESTS_CLIENT_FAKE_TRANSPORT_H_
#define TOKEN_TESTS_CLIENT_FAKE_TRANSPORT_H_

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/cpp/clock.h"
#include "client/cpp/transport.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace token::client::testing {

// ErrorStatus: `code` with an ErrorInfo{domain, reason} in the details.
inline grpc::Status ErrorStatus(grpc::StatusCode code, const std::string& reason,
                                const std::string& message = "failed",
                                const std::string& domain = "token.v1") {
  google::rpc::ErrorInfo info;
  info.set_reason(reason);
  info.set_domain(domain);
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return grpc::Status(code, message, details.SerializeAsString());
}

// FakeTransport answers each RPC with its handler (default: OK with an
// empty or canned response) and counts calls. Handlers run on the caller's
// thread and may block.
class FakeTransport final : public TokenTransport {
 public:
  template <typename Req, typename Resp>
  using Handler = std::function<grpc::Status(absl::Time deadline, const Req&, Resp*)>;

  Handler<v1::IssueTokensRequest, v1::IssueTokensResponse> on_issue =
      [](absl::Time, const v1::IssueTokensRequest& r, v1::IssueTokensResponse* out) {
        out->mutable_tokens()->set_access_token("access-for-" + r.subject());
        out->mutable_tokens()->set_refresh_token("tsr1_refresh-for-" + r.subject());
        out->mutable_tokens()->set_session_id("00000000-0000-4000-8000-000000000001");
        out->mutable_tokens()->set_token_type("Bearer");
        out->mutable_tokens()->mutable_access_expires_at()->set_seconds(1700000900);
        out->mutable_tokens()->mutable_refresh_expires_at()->set_seconds(1700604800);
        return grpc::Status::OK;
      };
  Handler<v1::RefreshTokensRequest, v1::RefreshTokensResponse> on_refresh =
      [](absl::Time, const v1::RefreshTokensRequest& r, v1::RefreshTokensResponse* out) {
        out->mutable_tokens()->set_refresh_token(r.refresh_token() + "+1");
        out->mutable_tokens()->set_access_token("access");
        out->mutable_tokens()->set_session_id("00000000-0000-4000-8000-000000000001");
        return grpc::Status::OK;
      };
  Handler<v1::VerifyAccessRequest, v1::VerifyAccessResponse> on_verify =
      [](absl::Time, const v1::VerifyAccessRequest&, v1::VerifyAccessResponse* out) {
        out->set_subject("alice");
        out->set_session_id("00000000-0000-4000-8000-000000000001");
        out->add_roles("admin");
        out->set_audience("api");
        out->mutable_issued_at()->set_seconds(1700000000);
        out->mutable_expires_at()->set_seconds(1700000900);
        out->set_token_id("jti-1");
        return grpc::Status::OK;
      };
  Handler<v1::RevokeAllRequest, v1::RevokeAllResponse> on_revoke_all =
      [](absl::Time, const v1::RevokeAllRequest&, v1::RevokeAllResponse* out) {
        out->set_revoked_sessions(3);
        return grpc::Status::OK;
      };
  Handler<v1::RevokeSessionRequest, v1::RevokeSessionResponse> on_revoke_session =
      [](absl::Time, const v1::RevokeSessionRequest&, v1::RevokeSessionResponse* out) {
        out->set_revoked(true);
        return grpc::Status::OK;
      };
  Handler<v1::ListSessionsRequest, v1::ListSessionsResponse> on_list =
      [](absl::Time, const v1::ListSessionsRequest&, v1::ListSessionsResponse*) {
        return grpc::Status::OK;
      };

  Handler<v1::UpdateSessionRequest, v1::UpdateSessionResponse> on_update =
      [](absl::Time, const v1::UpdateSessionRequest& r, v1::UpdateSessionResponse* out) {
        out->mutable_session()->set_session_id(r.session_id());
        return grpc::Status::OK;
      };

  std::atomic<int> issue_calls{0}, refresh_calls{0}, verify_calls{0}, revoke_all_calls{0},
      revoke_session_calls{0}, list_calls{0}, update_calls{0};

  grpc::Status IssueTokens(absl::Time d, const v1::IssueTokensRequest& r,
                           v1::IssueTokensResponse* out) override {
    ++issue_calls;
    return on_issue(d, r, out);
  }
  grpc::Status RefreshTokens(absl::Time d, const v1::RefreshTokensRequest& r,
                             v1::RefreshTokensResponse* out) override {
    ++refresh_calls;
    return on_refresh(d, r, out);
  }
  grpc::Status VerifyAccess(absl::Time d, const v1::VerifyAccessRequest& r,
                            v1::VerifyAccessResponse* out) override {
    ++verify_calls;
    return on_verify(d, r, out);
  }
  grpc::Status RevokeAll(absl::Time d, const v1::RevokeAllRequest& r,
                         v1::RevokeAllResponse* out) override {
    ++revoke_all_calls;
    return on_revoke_all(d, r, out);
  }
  grpc::Status RevokeSession(absl::Time d, const v1::RevokeSessionRequest& r,
                             v1::RevokeSessionResponse* out) override {
    ++revoke_session_calls;
    return on_revoke_session(d, r, out);
  }
  grpc::Status ListSessions(absl::Time d, const v1::ListSessionsRequest& r,
                            v1::ListSessionsResponse* out) override {
    ++list_calls;
    return on_list(d, r, out);
  }
  grpc::Status UpdateSession(absl::Time d, const v1::UpdateSessionRequest& r,
                             v1::UpdateSessionResponse* out) override {
    ++update_calls;
    return on_update(d, r, out);
  }
};

// Handlers for FakeTransport's on_* members, so each test writes only what is
// particular to it.

// Answer(status) returns `status` for every call; it fits any on_* member.
inline auto Answer(grpc::Status status) {
  return [status = std::move(status)](absl::Time, const auto&, auto*) { return status; };
}

// KeepLastRequest makes `handler` copy each request into `*last` before
// answering it as it did before.
template <typename Req, typename Resp>
void KeepLastRequest(FakeTransport::Handler<Req, Resp>& handler, Req* last) {
  handler = [last, next = std::move(handler)](absl::Time d, const Req& r, Resp* out) {
    *last = r;
    return next(d, r, out);
  };
}

// FakeClock: Now() is a settable time; SleepFor advances it and records the
// pause instead of blocking.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000)) : now_(start) {}
  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    now_ += d;
    sleeps_.push_back(d);
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  std::vector<absl::Duration> sleeps() const {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
  std::vector<absl::Duration> sleeps_;
};

}  // namespace token::client::testing

#endif  // TOKEN_TESTS_CLIENT_FAKE_TRANSPORT_H_
