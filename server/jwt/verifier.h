// Verification of access tokens: a compact JWS signed RS256 by one of the
// published keys, with this service's claims (server/jwt/claims.h).
#ifndef TOKEN_SERVER_JWT_VERIFIER_H_
#define TOKEN_SERVER_JWT_VERIFIER_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/jwt/claims.h"
#include "server/keys/key_set.h"

namespace token {

// kDefaultMaxAccessTokenBytes is VerifyOptions::max_token_bytes unless set,
// and the default of --max-token-bytes.
inline constexpr size_t kDefaultMaxAccessTokenBytes = 8192;

// VerifyOptions are the expectations a token is checked against.
struct VerifyOptions {
  // issuer: the required `iss`. An empty value matches no token.
  std::string issuer;
  // audience: the audience that `aud` must name. An empty value matches no token.
  std::string audience;
  // clock_skew: leeway applied to `exp` and `nbf`; negative counts as zero.
  absl::Duration clock_skew = absl::Seconds(30);
  // max_token_bytes: the longest token accepted; longer ones are refused
  // before any parsing (the server passes --max-token-bytes).
  size_t max_token_bytes = kDefaultMaxAccessTokenBytes;
  // max_lifetime: the longest `exp` - `iat` accepted. The service sets its
  // access-token TTL, because its revocation set keeps an entry only for
  // TTL + clock_skew: a token living longer than the TTL (signed under an
  // earlier, longer TTL) could outlive the entry that revokes it. Infinite
  // (the default) skips the check, for verifiers without revocation state.
  absl::Duration max_lifetime = absl::InfiniteDuration();
};

// VerifyAccessToken fully validates `token` at time `now` and returns its
// claims, or a MakeError status whose reason is the first failure in this
// order:
//   TOKEN_MALFORMED: empty, longer than options.max_token_bytes, not exactly
//     three dot-separated segments, a segment not strict base64url, header or
//     payload not a JSON object, header `typ` present and not "at+jwt" or
//     "application/at+jwt" (case-insensitive), header `crit` present.
//   TOKEN_SIGNATURE_INVALID: `alg` not exactly "RS256"; `kid` missing, not a
//     string or not in `keys`; signature length not the modulus size;
//     signature does not verify.
//   TOKEN_MALFORMED: a required claim missing or mistyped (iss, sub, jti, sid
//     strings; aud a string or an array of strings; iat, nbf, exp numbers
//     within years 1970..9999; roles an array of strings; when present:
//     scope a string, auth_time a number within years 1970..9999, amr an
//     array of strings, acr a string).
//   TOKEN_ISSUER_MISMATCH: `iss` != options.issuer.
//   TOKEN_EXPIRED: now >= exp + clock_skew.
//   TOKEN_EXPIRED: exp - iat > options.max_lifetime (a lifetime this service
//     no longer grants: the token is past the expiry it would have today).
//   TOKEN_NOT_YET_VALID: nbf > now + clock_skew.
//   TOKEN_AUDIENCE_MISMATCH: options.audience is neither the `aud` string
//     nor an element of the `aud` array (then `audience` is set to it).
// On success claims.context holds scope split on spaces (empty parts
// dropped), auth_time, amr and acr, each empty when absent, and in `claims`
// every top-level member whose name is not reserved (kReservedClaimNames),
// as canonical JSON ("{}" when none).
// Fractional times are rounded towards rejection (exp and auth_time down,
// nbf up).
// Duplicate JSON member names resolve to the last one (RFC 7515 section 4).
// Error messages are short and never contain the token.
// NOTE: does not check revocation, roles, `iat` against `now`, or any header
// parameter other than typ, crit, alg and kid (jku, x5u, jwk are ignored:
// keys only ever come from `keys`).
[[nodiscard]] absl::StatusOr<AccessClaims> VerifyAccessToken(absl::string_view token,
                                                             const KeySet& keys,
                                                             const VerifyOptions& options,
                                                             absl::Time now);

}  // namespace token

#endif  // TOKEN_SERVER_JWT_VERIFIER_H_
