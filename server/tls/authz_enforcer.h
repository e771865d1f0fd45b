// AuthzEnforcer: applies the current AuthzPolicy to every RPC on a TLS port.
// It is a grpc::AuthMetadataProcessor, which gRPC runs in the server's
// authentication filter for each call, after the TLS handshake and before
// the call reaches any service (TokenService, health, reflection). A denied
// call ends there with PERMISSION_DENIED; no handler sees it.
#ifndef TOKEN_SERVER_TLS_AUTHZ_ENFORCER_H_
#define TOKEN_SERVER_TLS_AUTHZ_ENFORCER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "server/tls/authz_policy.h"

namespace token::tls {

// PeerIdentityOf reads what the TLS handshake proved from a call's auth
// context: the verified client certificate's URI SANs, DNS SANs and subject.
PeerIdentity PeerIdentityOf(const grpc::AuthContext& context);

// AuthzEnforcer decides each call with the policy last Set().
//
// Usage:
//   auto enforcer = std::make_shared<AuthzEnforcer>(*policy);
//   credentials->SetAuthMetadataProcessor(enforcer);
//   ... on reload: enforcer->Set(new_policy);
class AuthzEnforcer final : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthzEnforcer(AuthzPolicyPtr policy) : policy_(std::move(policy)) {}

  // Set replaces the policy for calls that start from now on.
  void Set(AuthzPolicyPtr policy);
  AuthzPolicyPtr Current() const;

  // The decision is a few string comparisons: run it inline.
  bool IsBlocking() const override { return false; }

  // Process allows or denies one call (see class comment). Denials are
  // audit-logged with the method and the caller's first identity.
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // denied counts calls refused so far.
  int64_t denied() const { return denied_.load(std::memory_order_relaxed); }

 private:
  mutable absl::Mutex mu_;
  AuthzPolicyPtr policy_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> denied_{0};
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_AUTHZ_ENFORCER_H_
