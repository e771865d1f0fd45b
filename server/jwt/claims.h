// AccessClaims: the claims of the access tokens this service issues (their
// fields: VerifyAccessResponse in proto/token/v1/token.proto), shared by the
// signer and the verifier.
#ifndef TOKEN_SERVER_JWT_CLAIMS_H_
#define TOKEN_SERVER_JWT_CLAIMS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace token {

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

  friend bool operator==(const AccessClaims&, const AccessClaims&) = default;
};

}  // namespace token

#endif  // TOKEN_SERVER_JWT_CLAIMS_H_
