#include "server/session/access_verifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/jwt/verifier.h"
#include "server/session/request_validation.h"

namespace token {

AccessVerifier::AccessVerifier(AccessVerifierOptions options, const KeyProvider& keys,
                               const RevocationSet& revocations, const Clock& clock)
    : options_(std::move(options)), keys_(keys), revocations_(revocations), clock_(clock) {}

absl::StatusOr<AccessClaims> AccessVerifier::Verify(const VerifyAccessRequest& request) const {
  const std::string& audience =
      request.audience.empty() ? options_.default_audience : request.audience;
  if (absl::Status s = ValidateAudience(audience, ErrorReason::INVALID_REQUEST); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> required =
      NormalizeRoles(request.required_roles, ErrorReason::INVALID_REQUEST, options_.limits);
  if (!required.ok()) return required.status();

  VerifyOptions verify;
  verify.issuer = options_.issuer;
  verify.audience = audience;
  verify.clock_skew = options_.clock_skew;
  verify.max_token_bytes = options_.limits.max_access_token_bytes;
  verify.max_lifetime = MaxAccessTokenLifetime(options_.access_ttl, options_.clock_skew);
  const KeySetPtr keys = keys_.Current();
  absl::StatusOr<AccessClaims> claims =
      VerifyAccessToken(request.access_token, *keys, verify, clock_.Now());
  if (!claims.ok()) return claims.status();

  // Never answer "valid" from a revocation view that may be stale.
  if (!revocations_.InSync(clock_.Now())) {
    return MakeError(ErrorReason::SERVICE_NOT_READY,
                     "revocation state is not in sync; retry on another replica");
  }
  if (revocations_.IsRevoked(claims->session_id, claims->subject, claims->issued_at)) {
    return MakeError(ErrorReason::TOKEN_REVOKED, "token has been revoked");
  }
  for (const std::string& role : *required) {
    if (std::find(claims->roles.begin(), claims->roles.end(), role) == claims->roles.end()) {
      return MakeError(ErrorReason::MISSING_ROLE,
                       absl::StrCat("token lacks required role \"", role, "\""));
    }
  }
  return claims;
}

}  // namespace token
