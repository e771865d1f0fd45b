// JSON Web Key helpers (RFC 7517, RFC 7638) for the RSA keys this service
// signs with. Only public members are ever produced here.
#ifndef TOKEN_SERVER_KEYS_JWK_H_
#define TOKEN_SERVER_KEYS_JWK_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace token {

// RsaJwkThumbprint returns the RFC 7638 JWK thumbprint of an RSA public key:
// base64url(SHA-256('{"e":"<e>","kty":"RSA","n":"<n>"}')), with exactly that
// member order and no whitespace.
// REQUIRES: `n_b64url` and `e_b64url` are base64url (they are copied into the
// canonical JSON without escaping, which base64url never needs).
// NOTE: does not check that the values decode or form a usable key.
std::string RsaJwkThumbprint(absl::string_view n_b64url, absl::string_view e_b64url);

// RsaPublicJwk returns {"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}.
nlohmann::json RsaPublicJwk(absl::string_view kid, absl::string_view n_b64url,
                            absl::string_view e_b64url);

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_JWK_H_
