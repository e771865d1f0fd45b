// JWK Set parsing (RFC 7517 section 5) for clients that verify this service's
// access tokens offline: the JWKS served at /.well-known/jwks.json becomes a
// list of verify-only keys. Strict and exception-free, so it can face any
// bytes (it has a fuzz-style test and is meant for a fuzz target).
#ifndef TOKEN_SERVER_KEYS_JWKS_H_
#define TOKEN_SERVER_KEYS_JWKS_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/keys/rsa_key.h"

namespace token {

// kMaxJwksBytes bounds the document ParseJwks accepts.
inline constexpr size_t kMaxJwksBytes = 256 * 1024;
// kMaxJwksKeys bounds the number of keys in one document.
inline constexpr size_t kMaxJwksKeys = 64;

// ParseJwks returns the RS256 signature keys of a JWK Set, in document order,
// each public-only (RsaKey::FromPublicJwk).
//   * The document must be at most kMaxJwksBytes of JSON: an object whose
//     "keys" member is an array of at most kMaxJwksKeys objects.
//   * A JWK carrying any private member ("d", "p", "q", "dp", "dq", "qi",
//     "oth", or the symmetric "k") rejects the whole document: a publisher
//     leaking private keys is broken and must not be trusted.
//   * JWKs that cannot verify RS256 tokens are skipped, as RFC 7517 asks for
//     keys an implementation does not understand: "kty" other than "RSA",
//     "use" other than "sig", "alg" other than "RS256".
//   * Every other JWK must be a valid RSA public key (FromPublicJwk) whose
//     "kid" is present and equals its RFC 7638 thumbprint (this service's kid
//     rule, docs/KEY_ROTATION.md); two JWKs with the same kid are an error.
// Fails with INVALID_ARGUMENT on any violation, NOT_FOUND when no usable key
// remains. Never throws.
// NOTE: does not look at x5c, x5t, key_ops or any other member.
[[nodiscard]] absl::StatusOr<std::vector<RsaKeyPtr>> ParseJwks(absl::string_view json);

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_JWKS_H_
