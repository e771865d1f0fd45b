#include "client/cpp/token_client.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace token::client {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

TokenPair FromProto(const v1::TokenPair& p) {
  return TokenPair{
      .access_token = p.access_token(),
      .access_expires_at = FromProto(p.access_expires_at()),
      .refresh_token = p.refresh_token(),
      .refresh_expires_at = FromProto(p.refresh_expires_at()),
      .session_id = p.session_id(),
      .token_type = p.token_type(),
  };
}

void ToProto(const ClientInfo& client, v1::ClientInfo* out) {
  out->set_user_agent(client.user_agent);
  out->set_ip_address(client.ip_address);
}

SessionInfo FromProto(const v1::Session& s) {
  SessionInfo out{
      .session_id = s.session_id(),
      .subject = s.subject(),
      .roles = {s.roles().begin(), s.roles().end()},
      .client = {s.client().user_agent(), s.client().ip_address()},
      .created_at = FromProto(s.created_at()),
      .last_used_at = FromProto(s.last_used_at()),
      .expires_at = FromProto(s.expires_at()),
      .absolute_expires_at = FromProto(s.absolute_expires_at()),
      .revoked_at = std::nullopt,
      .revoke_reason = s.revoke_reason(),
  };
  if (s.has_revoked_at()) out.revoked_at = FromProto(s.revoked_at());
  return out;
}

// A uniform draw in [0, 1] for backoff jitter; one generator per thread.
double UnitRandom() {
  thread_local absl::InsecureBitGen gen;
  return absl::Uniform<double>(absl::IntervalClosed, gen, 0.0, 1.0);
}

Error DeadlinePassed(absl::string_view what) {
  return Error{grpc::StatusCode::DEADLINE_EXCEEDED, ErrorReason::ERROR_REASON_UNSPECIFIED, "",
               std::string(what), 0};
}

}  // namespace

TokenClientPtr TokenClient::Connect(const std::string& target, TokenClientOptions options,
                                    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return std::make_unique<TokenClient>(
      MakeGrpcTransport(grpc::CreateChannel(target, std::move(credentials))), options);
}

TokenClient::TokenClient(TokenTransportPtr transport, TokenClientOptions options)
    : transport_(std::move(transport)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      holds_(options.transit_margin) {}

absl::Time TokenClient::DeadlineOr(std::optional<absl::Time> deadline) const {
  return deadline.has_value() ? *deadline : clock_.Now() + options_.timeout;
}

template <typename Attempt>
grpc::Status TokenClient::WithRetries(absl::Time deadline, Attempt attempt, int* attempts) {
  *attempts = 0;
  const RetryPolicy& policy = options_.retry;
  for (int n = 1;; ++n) {
    if (clock_.Now() >= deadline) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "deadline passed before the call could be made");
    }
    *attempts = n;
    grpc::Status status = attempt(deadline);
    if (status.ok() || !IsRetryable(status.error_code()) || n >= policy.max_attempts) {
      return status;
    }
    const absl::Duration pause = policy.Backoff(n, UnitRandom());
    // The pause must leave time for another attempt; otherwise report the
    // failure now rather than a DEADLINE_EXCEEDED later.
    if (clock_.Now() + pause >= deadline) return status;
    clock_.SleepFor(pause);
  }
}

template <typename Request, typename Response>
Result<Response> TokenClient::Call(grpc::Status (TokenTransport::*rpc)(absl::Time, const Request&,
                                                                       Response*),
                                   const Request& request, absl::Time deadline) {
  Response response;
  int attempts = 0;
  grpc::Status status = WithRetries(
      deadline,
      [&](absl::Time d) {
        response.Clear();
        return ((*transport_).*rpc)(d, request, &response);
      },
      &attempts);
  if (!status.ok()) return Error::FromStatus(status, attempts);
  return response;
}

Result<TokenPair> TokenClient::Issue(const IssueRequest& request,
                                     std::optional<absl::Time> deadline) {
  v1::IssueTokensRequest proto;
  proto.set_subject(request.subject);
  for (const std::string& role : request.roles) proto.add_roles(role);
  proto.set_audience(request.audience);
  if (request.client.has_value()) ToProto(*request.client, proto.mutable_client());
  Result<v1::IssueTokensResponse> response =
      Call(&TokenTransport::IssueTokens, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return FromProto(response->tokens());
}

Result<TokenPair> TokenClient::Refresh(const RefreshRequest& request,
                                       std::optional<absl::Time> deadline) {
  const absl::Time until = DeadlineOr(deadline);
  // Waiting is measured on the client's clock, like the deadline itself.
  std::optional<Result<TokenPair>> shared = refreshes_.Do(
      request.refresh_token, until - clock_.Now(), [&] { return RefreshOnce(request, until); });
  if (!shared.has_value()) {
    return DeadlinePassed("deadline passed while waiting for a refresh of the same token");
  }
  return *std::move(shared);
}

Result<TokenPair> TokenClient::RefreshOnce(const RefreshRequest& request, absl::Time deadline) {
  v1::RefreshTokensRequest proto;
  proto.set_refresh_token(request.refresh_token);
  if (request.client.has_value()) ToProto(*request.client, proto.mutable_client());
  // A held successor waits until no copy of its parent's unanswered call can
  // reach the service any more (see RefreshHolds).
  const absl::Time held_until = holds_.HeldUntil(request.refresh_token, clock_.Now());
  if (held_until > clock_.Now()) {
    clock_.SleepFor(std::min(held_until, deadline) - clock_.Now());
    if (clock_.Now() < held_until) {
      return DeadlinePassed(
          "deadline passed while the token was held after an unanswered refresh of its parent");
    }
  }
  v1::RefreshTokensResponse response;
  int attempts = 0;
  // Retrying RefreshTokens is safe even when the first attempt did rotate the
  // token and only its response was lost: the service's grace window
  // (--reuse-grace, default 10 s) answers a replay of the immediately previous
  // token with the *same* successor instead of treating it as reuse. Backoff
  // pauses are far shorter than that window. (With the window disabled on the
  // server, such a retry is reuse and revokes the family: run with the window.)
  grpc::Status status = WithRetries(
      deadline,
      [&](absl::Time d) {
        response.Clear();
        grpc::Status attempt = transport_->RefreshTokens(d, proto, &response);
        if (!attempt.ok() && ErrorInfoReason(attempt).empty()) {
          holds_.RecordUnanswered(request.refresh_token, d, clock_.Now());
        }
        return attempt;
      },
      &attempts);
  if (!status.ok()) return Error::FromStatus(status, attempts);
  holds_.RecordAnswered(request.refresh_token, response.tokens().refresh_token(), clock_.Now());
  return FromProto(response.tokens());
}

Result<AccessClaims> TokenClient::Verify(const VerifyRequest& request,
                                         std::optional<absl::Time> deadline) {
  v1::VerifyAccessRequest proto;
  proto.set_access_token(request.access_token);
  proto.set_audience(request.audience);
  for (const std::string& role : request.required_roles) proto.add_required_roles(role);
  Result<v1::VerifyAccessResponse> response =
      Call(&TokenTransport::VerifyAccess, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return AccessClaims{
      .subject = response->subject(),
      .session_id = response->session_id(),
      .roles = {response->roles().begin(), response->roles().end()},
      .audience = response->audience(),
      .issued_at = FromProto(response->issued_at()),
      .expires_at = FromProto(response->expires_at()),
      .token_id = response->token_id(),
  };
}

Result<int64_t> TokenClient::RevokeAll(const std::string& subject, const std::string& reason,
                                       std::optional<absl::Time> deadline) {
  v1::RevokeAllRequest proto;
  proto.set_subject(subject);
  proto.set_reason(reason);
  // Idempotent: a retry after a lost response revokes nothing more (and then
  // reports 0 sessions, the ones still live).
  Result<v1::RevokeAllResponse> response =
      Call(&TokenTransport::RevokeAll, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return static_cast<int64_t>(response->revoked_sessions());
}

Result<bool> TokenClient::RevokeSession(const std::string& session_id, const std::string& reason,
                                        std::optional<absl::Time> deadline) {
  v1::RevokeSessionRequest proto;
  proto.set_session_id(session_id);
  proto.set_reason(reason);
  Result<v1::RevokeSessionResponse> response =
      Call(&TokenTransport::RevokeSession, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return response->revoked();
}

Result<SessionPage> TokenClient::ListSessions(const std::string& subject, int page_size,
                                              const std::string& page_token,
                                              std::optional<absl::Time> deadline) {
  v1::ListSessionsRequest proto;
  proto.set_subject(subject);
  proto.set_page_size(page_size);
  proto.set_page_token(page_token);
  Result<v1::ListSessionsResponse> response =
      Call(&TokenTransport::ListSessions, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  SessionPage page;
  page.next_page_token = response->next_page_token();
  for (const v1::Session& s : response->sessions()) page.sessions.push_back(FromProto(s));
  return page;
}

}  // namespace token::client
