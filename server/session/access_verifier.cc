#include "server/session/access_verifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/jwt/verifier.h"
#include "server/session/context_validation.h"
#include "server/session/request_validation.h"

namespace token {
namespace {

// More acceptable classes than any deployment defines.
constexpr size_t kMaxAcceptableAcr = 16;

// CheckStepUp applies max_auth_age and acceptable_acr (RFC 9470).
absl::Status CheckStepUp(const VerifyAccessRequest& request, const TokenContext& context,
                         absl::Time now) {
  if (request.max_auth_age.has_value()) {
    if (!context.auth_time.has_value()) {
      return MakeError(ErrorReason::INSUFFICIENT_USER_AUTHENTICATION,
                       "token has no auth_time and a maximum authentication age is required");
    }
    if (now - *context.auth_time > *request.max_auth_age) {
      return MakeError(
          ErrorReason::INSUFFICIENT_USER_AUTHENTICATION,
          absl::StrCat("authentication is older than ", absl::FormatDuration(*request.max_auth_age),
                       "; the user must authenticate again"));
    }
  }
  if (!request.acceptable_acr.empty() &&
      std::find(request.acceptable_acr.begin(), request.acceptable_acr.end(), context.acr) ==
          request.acceptable_acr.end()) {
    return MakeError(ErrorReason::INSUFFICIENT_USER_AUTHENTICATION,
                     "token's authentication context class is not acceptable");
  }
  return absl::OkStatus();
}

}  // namespace

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
  absl::StatusOr<std::vector<std::string>> required_scopes =
      NormalizeScopes(request.required_scopes, ErrorReason::INVALID_REQUEST, "required_scopes");
  if (!required_scopes.ok()) return required_scopes.status();
  if (request.max_auth_age.has_value() && *request.max_auth_age < absl::ZeroDuration()) {
    return MakeError(ErrorReason::INVALID_REQUEST, "max_auth_age must not be negative");
  }
  if (request.acceptable_acr.size() > kMaxAcceptableAcr) {
    return MakeError(ErrorReason::INVALID_REQUEST,
                     absl::StrCat("acceptable_acr has more than ", kMaxAcceptableAcr, " values"));
  }
  for (const std::string& acr : request.acceptable_acr) {
    if (acr.empty()) {
      return MakeError(ErrorReason::INVALID_REQUEST, "acceptable_acr values must not be empty");
    }
    if (absl::Status s = ValidateAcr(acr, ErrorReason::INVALID_REQUEST, "acceptable_acr");
        !s.ok()) {
      return s;
    }
  }

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
  const std::vector<std::string>& scopes = claims->context.scopes;
  for (const std::string& scope : *required_scopes) {
    if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
      return MakeError(ErrorReason::MISSING_SCOPE,
                       absl::StrCat("token lacks required scope \"", scope, "\""));
    }
  }
  if (absl::Status s = CheckStepUp(request, claims->context, clock_.Now()); !s.ok()) return s;
  return claims;
}

}  // namespace token
