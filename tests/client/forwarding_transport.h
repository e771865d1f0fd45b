// ForwardingTransport: a TokenTransport that passes every RPC to an inner
// transport. Test transports that intercept one or two RPCs (to gate, count
// or record them) derive from it and override only those, so a new RPC in
// client/cpp/transport.h is added here once instead of in every wrapper.
#ifndef TOKEN_TESTS_CLIENT_FORWARDING_TRANSPORT_H_
#define TOKEN_TESTS_CLIENT_FORWARDING_TRANSPORT_H_

#include <memory>
#include <utility>

#include "client/cpp/transport.h"

namespace token::client::testing {

class ForwardingTransport : public TokenTransport {
 public:
  // Shared so a test can keep its own handle on the inner transport (a fake
  // it inspects afterwards) while a client owns the wrapper.
  explicit ForwardingTransport(std::shared_ptr<TokenTransport> inner) : inner_(std::move(inner)) {}

  grpc::Status IssueTokens(absl::Time d, const v1::IssueTokensRequest& r,
                           v1::IssueTokensResponse* o) override {
    return inner_->IssueTokens(d, r, o);
  }
  grpc::Status RefreshTokens(absl::Time d, const v1::RefreshTokensRequest& r,
                             v1::RefreshTokensResponse* o) override {
    return inner_->RefreshTokens(d, r, o);
  }
  grpc::Status VerifyAccess(absl::Time d, const v1::VerifyAccessRequest& r,
                            v1::VerifyAccessResponse* o) override {
    return inner_->VerifyAccess(d, r, o);
  }
  grpc::Status RevokeAll(absl::Time d, const v1::RevokeAllRequest& r,
                         v1::RevokeAllResponse* o) override {
    return inner_->RevokeAll(d, r, o);
  }
  grpc::Status RevokeSession(absl::Time d, const v1::RevokeSessionRequest& r,
                             v1::RevokeSessionResponse* o) override {
    return inner_->RevokeSession(d, r, o);
  }
  grpc::Status ListSessions(absl::Time d, const v1::ListSessionsRequest& r,
                            v1::ListSessionsResponse* o) override {
    return inner_->ListSessions(d, r, o);
  }
  grpc::Status UpdateSession(absl::Time d, const v1::UpdateSessionRequest& r,
                             v1::UpdateSessionResponse* o) override {
    return inner_->UpdateSession(d, r, o);
  }

 private:
  const std::shared_ptr<TokenTransport> inner_;
};

}  // namespace token::client::testing

#endif  // TOKEN_TESTS_CLIENT_FORWARDING_TRANSPORT_H_
