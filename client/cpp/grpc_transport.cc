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
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->IssueTokens(&context, request, response);
  }
  grpc::Status RefreshTokens(absl::Time deadline, const v1::RefreshTokensRequest& request,
                             v1::RefreshTokensResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->RefreshTokens(&context, request, response);
  }
  grpc::Status VerifyAccess(absl::Time deadline, const v1::VerifyAccessRequest& request,
                            v1::VerifyAccessResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->VerifyAccess(&context, request, response);
  }
  grpc::Status RevokeAll(absl::Time deadline, const v1::RevokeAllRequest& request,
                         v1::RevokeAllResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->RevokeAll(&context, request, response);
  }
  grpc::Status RevokeSession(absl::Time deadline, const v1::RevokeSessionRequest& request,
                             v1::RevokeSessionResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->RevokeSession(&context, request, response);
  }
  grpc::Status ListSessions(absl::Time deadline, const v1::ListSessionsRequest& request,
                            v1::ListSessionsResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->ListSessions(&context, request, response);
  }
  grpc::Status UpdateSession(absl::Time deadline, const v1::UpdateSessionRequest& request,
                             v1::UpdateSessionResponse* response) override {
    grpc::ClientContext context;
    Prepare(context, deadline);
    return stub_->UpdateSession(&context, request, response);
  }

 private:
  static void Prepare(grpc::ClientContext& context, absl::Time deadline) {
    if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
  }

  std::unique_ptr<v1::TokenService::Stub> stub_;
};

}  // namespace

TokenTransportPtr MakeGrpcTransport(std::shared_ptr<grpc::ChannelInterface> channel) {
  return std::make_unique<GrpcTransport>(std::move(channel));
}

}  // namespace token::client
