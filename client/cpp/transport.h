// TokenTransport: the seam between TokenClient and the network. One method
// per RPC, each one attempt with a deadline; retries, single-flight and type
// conversion live above it in TokenClient. GrpcTransport (MakeGrpcTransport)
// calls the generated stub; tests substitute a fake that counts calls and
// scripts failures.
//
// Usage:
//   TokenTransportPtr transport = MakeGrpcTransport(channel);
//   v1::VerifyAccessResponse response;
//   grpc::Status status = transport->VerifyAccess(deadline, request, &response);
#ifndef TOKEN_CLIENT_CPP_TRANSPORT_H_
#define TOKEN_CLIENT_CPP_TRANSPORT_H_

#include <memory>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "token/v1/token.pb.h"

namespace token::client {

class TokenTransport {
 public:
  virtual ~TokenTransport() = default;

  // Each method makes one attempt of the RPC that must finish by `deadline`,
  // and must be safe to call from several threads at once.
  virtual grpc::Status IssueTokens(absl::Time deadline, const v1::IssueTokensRequest& request,
                                   v1::IssueTokensResponse* response) = 0;
  virtual grpc::Status RefreshTokens(absl::Time deadline, const v1::RefreshTokensRequest& request,
                                     v1::RefreshTokensResponse* response) = 0;
  virtual grpc::Status VerifyAccess(absl::Time deadline, const v1::VerifyAccessRequest& request,
                                    v1::VerifyAccessResponse* response) = 0;
  virtual grpc::Status RevokeAll(absl::Time deadline, const v1::RevokeAllRequest& request,
                                 v1::RevokeAllResponse* response) = 0;
  virtual grpc::Status RevokeSession(absl::Time deadline, const v1::RevokeSessionRequest& request,
                                     v1::RevokeSessionResponse* response) = 0;
  virtual grpc::Status ListSessions(absl::Time deadline, const v1::ListSessionsRequest& request,
                                    v1::ListSessionsResponse* response) = 0;
  virtual grpc::Status UpdateSession(absl::Time deadline, const v1::UpdateSessionRequest& request,
                                     v1::UpdateSessionResponse* response) = 0;
};

using TokenTransportPtr = std::unique_ptr<TokenTransport>;

// MakeGrpcTransport returns a transport that calls token.v1.TokenService over
// `channel` with the generated blocking stub.
TokenTransportPtr MakeGrpcTransport(std::shared_ptr<grpc::ChannelInterface> channel);

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_TRANSPORT_H_
