#include "server/tls/authz_enforcer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "server/common/log.h"

namespace token::tls {
namespace {

std::string ToString(const grpc::string_ref& ref) { return std::string(ref.data(), ref.size()); }

std::vector<std::string> Values(const grpc::AuthContext& context, const char* name) {
  std::vector<std::string> out;
  for (const grpc::string_ref& value : context.FindPropertyValues(name)) {
    out.push_back(ToString(value));
  }
  return out;
}

// DisplayName is the identity a log line shows for a caller.
std::string DisplayName(const PeerIdentity& peer) {
  if (!peer.authenticated) return "(no client certificate)";
  if (!peer.uri_sans.empty()) return peer.uri_sans.front();
  if (!peer.dns_sans.empty()) return peer.dns_sans.front();
  return peer.subject;
}

}  // namespace

PeerIdentity PeerIdentityOf(const grpc::AuthContext& context) {
  PeerIdentity peer;
  const std::vector<std::string> security =
      Values(context, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  const bool tls = !security.empty() && (security.front() == GRPC_SSL_TRANSPORT_SECURITY_TYPE ||
                                         security.front() == "tls");
  // A certificate in the auth context is one the handshake verified: the
  // server requires and verifies client certificates whenever a policy is on.
  peer.authenticated = tls && !Values(context, GRPC_X509_PEM_CERT_PROPERTY_NAME).empty();
  if (!peer.authenticated) return peer;
  peer.uri_sans = Values(context, GRPC_PEER_URI_PROPERTY_NAME);
  peer.dns_sans = Values(context, GRPC_PEER_DNS_PROPERTY_NAME);
  const std::vector<std::string> subject = Values(context, GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (!subject.empty()) peer.subject = subject.front();
  return peer;
}

void AuthzEnforcer::Set(AuthzPolicyPtr policy) {
  absl::MutexLock lock(&mu_);
  policy_ = std::move(policy);
}

AuthzPolicyPtr AuthzEnforcer::Current() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

grpc::Status AuthzEnforcer::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                    OutputMetadata* /*consumed_auth_metadata*/,
                                    OutputMetadata* /*response_metadata*/) {
  std::string path;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) path = ToString(it->second);
  const PeerIdentity peer = context != nullptr ? PeerIdentityOf(*context) : PeerIdentity{};
  const HeaderLookup headers =
      [&auth_metadata](absl::string_view key) -> std::optional<std::string> {
    std::optional<std::string> joined;
    const auto range = auth_metadata.equal_range(grpc::string_ref(key.data(), key.size()));
    for (auto it = range.first; it != range.second; ++it) {
      joined = joined.has_value() ? absl::StrCat(*joined, ",", ToString(it->second))
                                  : ToString(it->second);
    }
    return joined;
  };
  const AuthzPolicyPtr policy = Current();
  const AuthzPolicy::Decision decision = policy != nullptr && !path.empty()
                                             ? policy->Evaluate(peer, path, headers)
                                             : AuthzPolicy::Decision{};
  if (decision.allowed) return grpc::Status::OK;
  denied_.fetch_add(1, std::memory_order_relaxed);
  Audit("rpc_denied", {{"method", path},
                       {"caller", DisplayName(peer)},
                       {"rule", decision.rule.empty() ? "(no allow rule matched)" : decision.rule},
                       {"policy", policy != nullptr ? policy->name() : ""}});
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      absl::StrCat("the caller's certificate may not call ", path));
}

}  // namespace token::tls
