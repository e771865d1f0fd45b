// Signing of access tokens as compact JWS, RS256 (RFC 7515, RFC 9068).
#ifndef TOKEN_SERVER_JWT_SIGNER_H_
#define TOKEN_SERVER_JWT_SIGNER_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/jwt/claims.h"
#include "server/keys/rsa_key.h"

namespace token {

// SignAccessToken returns the compact JWS of `claims` signed by `key`.
// Header: exactly {"alg":"RS256","typ":"at+jwt","kid":<key.kid()>}.
// Payload: iss, sub, aud (one string), iat, nbf, exp (integer seconds,
// sub-second parts truncated), jti, sid, roles (array, may be empty); from
// claims.context: scope (scopes joined by single spaces), auth_time (integer
// seconds), amr (array of strings), acr (string), each only when non-empty
// or set; and every member of context.claims at top level, before the
// members above.
// Fails with INVALID_ARGUMENT when a string claim is not valid UTF-8 or
// context.claims is neither empty nor enclosed in braces, and with
// FAILED_PRECONDITION when `key` is public-only (built from a JWK).
// REQUIRES: context.claims is "{}", empty, or the output of CanonicalClaims
// (server/session/context_validation.h): a JSON object without reserved
// names. It is copied into the payload as text, unparsed.
// NOTE: does not check the claims' meaning (empty subject, exp before iat);
// callers validate requests before signing.
[[nodiscard]] absl::StatusOr<std::string> SignAccessToken(const AccessClaims& claims,
                                                          const RsaKey& key);

// Rs256SignRaw signs arbitrary bytes with RSASSA-PKCS1-v1_5 SHA-256; the
// building block of SignAccessToken, exposed for tools and tests. Fails with
// FAILED_PRECONDITION when `key` is public-only.
[[nodiscard]] absl::StatusOr<std::string> Rs256SignRaw(absl::string_view signing_input,
                                                       const RsaKey& key);

// Rs256Digest returns SHA-256, fetched from the default provider once per
// process instead of on every signature.
const EVP_MD* Rs256Digest();

}  // namespace token

#endif  // TOKEN_SERVER_JWT_SIGNER_H_
