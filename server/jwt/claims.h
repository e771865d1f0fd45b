// AccessClaims: the claims of the access tokens this service issues (their
// fields: VerifyAccessResponse in proto/token/v1/token.proto), shared by the
// signer and the verifier.
#ifndef TOKEN_SERVER_JWT_CLAIMS_H_
#define TOKEN_SERVER_JWT_CLAIMS_H_

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/session_context.h"

namespace token {

// kReservedClaimNames: the payload members this service owns or that
// registered JWT/OAuth specifications define with a meaning resource servers
// rely on. A custom claim may never use one of these names
// (server/session/context_validation.h refuses them), and the verifier never
// reports one of them as a custom claim.
inline constexpr std::array<absl::string_view, 18> kReservedClaimNames = {
    "iss",   "sub",       "aud",       "exp", "nbf", "iat", "jti", "sid", "roles",
    "scope", "client_id", "auth_time", "acr", "amr", "cnf", "azp", "typ", "nonce"};

// IsReservedClaimName is true for the names in kReservedClaimNames.
inline bool IsReservedClaimName(absl::string_view name) {
  return std::find(kReservedClaimNames.begin(), kReservedClaimNames.end(), name) !=
         kReservedClaimNames.end();
}

// AccessClaims are the contents of an access token's JWT payload.
struct AccessClaims {
  // issuer: `iss`.
  std::string issuer;
  // subject: `sub`, the user the token speaks for.
  std::string subject;
  // audience: `aud`. Issued as one string; the verifier also accepts an array
  // containing the expected value and then sets this to that value.
  std::string audience;
  // session_id: `sid`, the canonical UUID of the session family.
  std::string session_id;
  // token_id: `jti`, unique per token.
  std::string token_id;
  // roles: `roles`, possibly empty.
  std::vector<std::string> roles;
  // issued_at, not_before, expires_at: `iat`, `nbf`, `exp`, whole seconds
  // (the signer truncates sub-second parts).
  absl::Time issued_at;
  absl::Time not_before;
  absl::Time expires_at;
  // context: `scope` (space-separated, omitted when empty), `auth_time`
  // (integer seconds, omitted when unset), `amr` (array, omitted when empty),
  // `acr` (omitted when empty), and the members of context.claims as
  // top-level members of the payload.
  TokenContext context;

  friend bool operator==(const AccessClaims&, const AccessClaims&) = default;
};

}  // namespace token

#endif  // TOKEN_SERVER_JWT_CLAIMS_H_
