// GrpcTransport: TokenTransport over the generated blocking stub.
#include <utility>

#include "client/cpp/transport.h"
#include "grpcpp/client_context.h"
#include "token/v1/token.grpc.pb.h"

namespace token::client {
namespace {

class GrpcTransport final : public TokenTransport {
 public:
  explicit GrpcTransport(std::shared_ptr<grpc::ChannelInterface> channel)
      : stub_(v1::TokenService::NewStub(std::move(channel))) {}

  grpc::Status IssueTokens(absl::Time deadline, const v1::IssueTokensRequest& request,
                           v1::IssueTokensResponse* response) override {
    return Unary(&Stub::IssueTokens, deadline, request, response);
  }
  grpc::Status RefreshTokens(absl::Time deadline, const v1::RefreshTokensRequest& request,
                             v1::RefreshTokensResponse* response) override {
    return Unary(&Stub::RefreshTokens, deadline, request, response);
  }
  grpc::Status VerifyAccess(absl::Time deadline, const v1::VerifyAccessRequest& request,
                            v1::VerifyAccessResponse* response) override {
    return Unary(&Stub::VerifyAccess, deadline, request, response);
  }
  grpc::Status RevokeAll(absl::Time deadline, const v1::RevokeAllRequest& request,
                         v1::RevokeAllResponse* response) override {
    return Unary(&Stub::RevokeAll, deadline, request, response);
  }
  grpc::Status RevokeSession(absl::Time deadline, const v1::RevokeSessionRequest& request,
                             v1::RevokeSessionResponse* response) override {
    return Unary(&Stub::RevokeSession, deadline, request, response);
  }
  grpc::Status ListSessions(absl::Time deadline, const v1::ListSessionsRequest& request,
                            v1::ListSessionsResponse* response) override {
    return Unary(&Stub::ListSessions, deadline, request, response);
  }
  grpc::Status UpdateSession(absl::Time deadline, const v1::UpdateSessionRequest& request,
                             v1::UpdateSessionResponse* response) override {
    return Unary(&Stub::UpdateSession, deadline, request, response);
  }

 private:
  using Stub = v1::TokenService::Stub;

  // Unary makes one blocking call of `rpc` with a fresh context (a
  // ClientContext must not be reused across calls), bounded by `deadline`
  // unless it is infinite.
  template <typename Request, typename Response>
  grpc::Status Unary(grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                     absl::Time deadline, const Request& request, Response* response) {
    grpc::ClientContext context;
    if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
    return (stub_.get()->*rpc)(&context, request, response);
  }

  std::unique_ptr<Stub> stub_;
};

}  // namespace

TokenTransportPtr MakeGrpcTransport(std::shared_ptr<grpc::ChannelInterface> channel) {
  return std::make_unique<GrpcTransport>(std::move(channel));
}

}  // namespace token::client
