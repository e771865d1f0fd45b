#include "server/api/token_service.h"

#include <memory>
#include <utility>

#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "server/api/proto_conversion.h"
#include "server/api/request_decoding.h"
#include "server/api/status_conversion.h"
#include "server/common/error_reason.h"
#include "server/metrics/metrics.h"

namespace token {
namespace {

using Reasons = std::initializer_list<FieldReason>;

// Which reason a field that does not decode is reported with, per RPC.
const Reasons kIssueReasons = {
    {1, ErrorReason::INVALID_SUBJECT}, {2, ErrorReason::INVALID_CLAIMS},
    {3, ErrorReason::INVALID_CLAIMS},  {4, ErrorReason::INVALID_CLAIMS},
    {5, ErrorReason::INVALID_CLAIMS},  {6, ErrorReason::INVALID_CLAIMS},
    {7, ErrorReason::INVALID_CLAIMS},  {8, ErrorReason::INVALID_CLAIMS},
    {9, ErrorReason::INVALID_CLAIMS},  {10, ErrorReason::INVALID_CLAIMS}};
const Reasons kRefreshReasons = {{1, ErrorReason::REFRESH_TOKEN_INVALID}};
const Reasons kVerifyReasons = {{1, ErrorReason::TOKEN_MALFORMED}};
const Reasons kRevokeAllReasons = {{1, ErrorReason::INVALID_SUBJECT},
                                   {3, ErrorReason::INVALID_SESSION_ID}};
const Reasons kUpdateReasons = {
    {1, ErrorReason::INVALID_SESSION_ID}, {2, ErrorReason::INVALID_CLAIMS},
    {3, ErrorReason::INVALID_CLAIMS},     {4, ErrorReason::INVALID_CLAIMS},
    {6, ErrorReason::INVALID_CLAIMS},     {7, ErrorReason::INVALID_CLAIMS},
    {8, ErrorReason::INVALID_CLAIMS}};
const Reasons kRevokeSessionReasons = {{1, ErrorReason::INVALID_SESSION_ID}};
const Reasons kListReasons = {{1, ErrorReason::INVALID_SUBJECT},
                              {3, ErrorReason::INVALID_PAGE_TOKEN}};

// PeerAddress turns gRPC's peer URI ("ipv4:10.0.0.7:51234",
// "ipv6:[::1]:51234") into the bare address.
std::string PeerAddress(absl::string_view peer) {
  const size_t colon = peer.find(':');
  absl::string_view rest = colon == absl::string_view::npos ? peer : peer.substr(colon + 1);
  if (absl::ConsumePrefix(&rest, "[")) return std::string(rest.substr(0, rest.find(']')));
  const size_t port = rest.rfind(':');
  return std::string(port == absl::string_view::npos ? rest : rest.substr(0, port));
}

}  // namespace

TokenServiceHandlers::TokenServiceHandlers(const SessionService& sessions,
                                           const AccessVerifier& verifier, BoundedExecutor& workers,
                                           const Clock& clock, Metrics& metrics)
    : sessions_(sessions),
      verifier_(verifier),
      workers_(workers),
      clock_(clock),
      metrics_(metrics) {}

void TokenServiceHandlers::Finish(grpc::ServerUnaryReactor* reactor, Rpc rpc, absl::Time started,
                                  const absl::Status& status) {
  metrics_.RecordCall(rpc, status, absl::Now() - started);
  reactor->Finish(ToGrpcStatus(status));
}

void TokenServiceHandlers::FinishCancelled(grpc::ServerUnaryReactor* reactor, Rpc rpc,
                                           absl::Time started) {
  metrics_.RecordCall(rpc, absl::CancelledError(), absl::Now() - started);
  reactor->Finish(grpc::Status::CANCELLED);
}

absl::Time TokenServiceHandlers::DeadlineOf(const grpc::CallbackServerContext& context) const {
  const absl::Time fallback = clock_.Now() + kDefaultDeadline;
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return fallback;
  return std::min(absl::FromChrono(deadline), fallback);
}

template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* TokenServiceHandlers::Offload(
    Rpc rpc, grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, std::initializer_list<FieldReason> reasons, Call call) {
  const absl::Time started = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto decoded = std::make_shared<Request>();
  if (absl::Status s = DecodeRequest(*request, *decoded, reasons); !s.ok()) {
    Finish(reactor, rpc, started, s);
    return reactor;
  }
  const bool queued = workers_.TrySubmit([this, rpc, started, context, reactor, decoded, response,
                                          deadline = DeadlineOf(*context), call = std::move(call)] {
    // A caller that is gone (cancelled, connection lost, deadline passed:
    // checked on our clock too, since gRPC learns of it asynchronously) reads
    // no answer, so the work is skipped. For RefreshTokens this is
    // essential, not an optimisation: a late copy of a refresh whose caller
    // already retried and moved on would present a superseded token and be
    // taken for reuse. The context lives until Finish.
    if (context->IsCancelled() || clock_.Now() >= deadline) {
      FinishCancelled(reactor, rpc, started);
      return;
    }
    absl::StatusOr<Response> result = call(*decoded, deadline);
    if (result.ok()) EncodeResponse(*result, *response);
    Finish(reactor, rpc, started, result.status());
  });
  if (!queued) {
    Finish(reactor, rpc, started,
           MakeError(ErrorReason::OVERLOADED, "server is overloaded; retry with backoff"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceHandlers::IssueTokens(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request,
                                                            grpc::ByteBuffer* response) {
  return Offload<v1::IssueTokensRequest, v1::IssueTokensResponse>(
      Rpc::kIssueTokens, context, request, response, kIssueReasons,
      [this](const v1::IssueTokensRequest& req,
             absl::Time deadline) -> absl::StatusOr<v1::IssueTokensResponse> {
        absl::StatusOr<IssueRequest> issue = IssueFromProto(req);
        if (!issue.ok()) return issue.status();
        absl::StatusOr<IssuedTokens> tokens = sessions_.Issue(*issue, deadline);
        if (!tokens.ok()) return tokens.status();
        v1::IssueTokensResponse out;
        ToProto(*tokens, *out.mutable_tokens());
        return out;
      });
}

grpc::ServerUnaryReactor* TokenServiceHandlers::RefreshTokens(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  return Offload<v1::RefreshTokensRequest, v1::RefreshTokensResponse>(
      Rpc::kRefreshTokens, context, request, response, kRefreshReasons,
      [this, peer = PeerAddress(context->peer())](
          const v1::RefreshTokensRequest& req,
          absl::Time deadline) -> absl::StatusOr<v1::RefreshTokensResponse> {
        std::optional<ClientMetadata> client;
        if (req.has_client()) client = FromProto(req.client());
        absl::StatusOr<IssuedTokens> tokens =
            sessions_.Refresh(req.refresh_token(), client, deadline, peer);
        if (ReasonOf(tokens.status()) == ErrorReason::REFRESH_TOKEN_REUSED) {
          metrics_.RecordSessionsRevoked("reuse_detected", 1);
        }
        if (!tokens.ok()) return tokens.status();
        v1::RefreshTokensResponse out;
        ToProto(*tokens, *out.mutable_tokens());
        return out;
      });
}

grpc::ServerUnaryReactor* TokenServiceHandlers::VerifyAccess(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  // Inline: verification never blocks (no database, one RSA verify).
  const absl::Time started = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::VerifyAccessRequest req;
  absl::Status status = DecodeRequest(*request, req, kVerifyReasons);
  absl::StatusOr<VerifyAccessRequest> verify =
      status.ok() ? VerifyFromProto(req) : absl::StatusOr<VerifyAccessRequest>(status);
  status = verify.status();
  if (status.ok()) {
    absl::StatusOr<AccessClaims> claims = verifier_.Verify(*verify);
    status = claims.status();
    if (claims.ok()) {
      v1::VerifyAccessResponse out;
      ToProto(*claims, out);
      EncodeResponse(out, *response);
    }
  }
  Finish(reactor, Rpc::kVerifyAccess, started, status);
  return reactor;
}

grpc::ServerUnaryReactor* TokenServiceHandlers::RevokeAll(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return Offload<v1::RevokeAllRequest, v1::RevokeAllResponse>(
      Rpc::kRevokeAll, context, request, response, kRevokeAllReasons,
      [this](const v1::RevokeAllRequest& req,
             absl::Time deadline) -> absl::StatusOr<v1::RevokeAllResponse> {
        absl::StatusOr<int64_t> revoked =
            sessions_.RevokeAll(req.subject(), req.reason(), deadline, req.except_session_id());
        if (!revoked.ok()) return revoked.status();
        metrics_.RecordSessionsRevoked("revoke_all", *revoked);
        v1::RevokeAllResponse out;
        out.set_revoked_sessions(*revoked);
        return out;
      });
}

grpc::ServerUnaryReactor* TokenServiceHandlers::RevokeSession(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  return Offload<v1::RevokeSessionRequest, v1::RevokeSessionResponse>(
      Rpc::kRevokeSession, context, request, response, kRevokeSessionReasons,
      [this](const v1::RevokeSessionRequest& req,
             absl::Time deadline) -> absl::StatusOr<v1::RevokeSessionResponse> {
        absl::StatusOr<bool> revoked =
            sessions_.RevokeSession(req.session_id(), req.reason(), deadline);
        if (!revoked.ok()) return revoked.status();
        if (*revoked) metrics_.RecordSessionsRevoked("revoke_session", 1);
        v1::RevokeSessionResponse out;
        out.set_revoked(*revoked);
        return out;
      });
}

grpc::ServerUnaryReactor* TokenServiceHandlers::ListSessions(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  return Offload<v1::ListSessionsRequest, v1::ListSessionsResponse>(
      Rpc::kListSessions, context, request, response, kListReasons,
      [this](const v1::ListSessionsRequest& req,
             absl::Time deadline) -> absl::StatusOr<v1::ListSessionsResponse> {
        absl::StatusOr<SessionPage> page =
            sessions_.ListSessions(req.subject(), req.page_size(), req.page_token(), deadline);
        if (!page.ok()) return page.status();
        v1::ListSessionsResponse out;
        for (const SessionView& session : page->sessions) ToProto(session, *out.add_sessions());
        out.set_next_page_token(page->next_page_token);
        return out;
      });
}

grpc::ServerUnaryReactor* TokenServiceHandlers::UpdateSession(grpc::CallbackServerContext* context,
                                                              const grpc::ByteBuffer* request,
                                                              grpc::ByteBuffer* response) {
  return Offload<v1::UpdateSessionRequest, v1::UpdateSessionResponse>(
      Rpc::kUpdateSession, context, request, response, kUpdateReasons,
      [this](const v1::UpdateSessionRequest& req,
             absl::Time deadline) -> absl::StatusOr<v1::UpdateSessionResponse> {
        absl::StatusOr<SessionChanges> changes = ChangesFromProto(req);
        if (!changes.ok()) return changes.status();
        absl::StatusOr<SessionView> session =
            sessions_.UpdateSession(req.session_id(), *changes, deadline);
        if (!session.ok()) return session.status();
        v1::UpdateSessionResponse out;
        ToProto(*session, *out.mutable_session());
        return out;
      });
}

}  // namespace token
