// AccessVerifier: VerifyAccess without a network. Full JWT validation against
// the published keys, then the in-memory revocation set, then required roles.
// A valid token costs no database query.
#ifndef TOKEN_SERVER_SESSION_ACCESS_VERIFIER_H_
#define TOKEN_SERVER_SESSION_ACCESS_VERIFIER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/jwt/claims.h"
#include "server/keys/key_provider.h"
#include "server/session/request_validation.h"
#include "server/session/revocation_set.h"

namespace token {

// MaxAccessTokenLifetime is the longest exp - iat VerifyAccess accepts: the
// configured TTL plus the clock skew.
inline absl::Duration MaxAccessTokenLifetime(absl::Duration access_ttl, absl::Duration clock_skew) {
  return access_ttl + clock_skew;
}

// RevocationRetention is how long a revocation is kept so that it outlives
// every token it can reject: such a token has iat <= the revocation time and
// is accepted until iat + MaxAccessTokenLifetime + clock_skew.
inline absl::Duration RevocationRetention(absl::Duration access_ttl, absl::Duration clock_skew) {
  return MaxAccessTokenLifetime(access_ttl, clock_skew) + clock_skew;
}

struct AccessVerifierOptions {
  std::string issuer;
  std::string default_audience;
  absl::Duration clock_skew = absl::Seconds(30);
  // access_ttl: the lifetime this service issues (--access-ttl). Tokens
  // living longer than MaxAccessTokenLifetime are refused TOKEN_EXPIRED: the
  // revocation set keeps an entry only for RevocationRetention, which must
  // cover every token that entry can reject, including ones signed before a
  // restart that lowered the TTL.
  absl::Duration access_ttl = absl::Minutes(15);
  // limits.max_access_token_bytes (--max-token-bytes) caps the token length.
  RequestLimits limits;
};

struct VerifyAccessRequest {
  std::string access_token;
  std::string audience;  // Empty: the default audience.
  std::vector<std::string> required_roles;
  std::vector<std::string> required_scopes;
  // Step-up (RFC 9470): the token's auth_time must be at most this old.
  std::optional<absl::Duration> max_auth_age;
  // Step-up: when not empty, the token's acr must be one of these.
  std::vector<std::string> acceptable_acr;
};

class AccessVerifier {
 public:
  AccessVerifier(AccessVerifierOptions options, const KeyProvider& keys,
                 const RevocationSet& revocations, const Clock& clock);

  // Verify returns the token's claims (audience set to the one that matched),
  // or the first failure: INVALID_REQUEST for a malformed audience, role,
  // scope, max_auth_age or acr in the request; the TOKEN_* reasons of the JWT
  // checks; TOKEN_REVOKED; MISSING_ROLE; MISSING_SCOPE;
  // INSUFFICIENT_USER_AUTHENTICATION; SERVICE_NOT_READY while the revocation
  // set is out of sync. Permission comes before step-up: a fresh login cannot
  // grant a missing role or scope.
  absl::StatusOr<AccessClaims> Verify(const VerifyAccessRequest& request) const;

 private:
  const AccessVerifierOptions options_;
  const KeyProvider& keys_;
  const RevocationSet& revocations_;
  const Clock& clock_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_ACCESS_VERIFIER_H_
