// CheckVerifyResult: what VerifyAccessToken promises about any result, shared
// by the jwt_verify and jwt_claims fuzz targets.
#ifndef TOKEN_FUZZ_JWT_INVARIANTS_H_
#define TOKEN_FUZZ_JWT_INVARIANTS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_support.h"
#include "nlohmann/json.hpp"
#include "server/common/error_reason.h"
#include "server/jwt/claims.h"
#include "server/jwt/signer.h"
#include "server/jwt/verifier.h"

namespace token::fuzz {

// CheckVerifyResult checks `result`, the outcome of verifying `token` with
// FuzzKeySet() and FuzzVerifyOptions() at kFuzzNow:
//   * a failure carries one of the documented VerifyAccessToken reasons with
//     its canonical code, and a message too short to echo a token;
//   * a success has whole-second times, is inside its validity window, a
//     context whose scopes are non-empty and space-free and whose custom
//     claims are a canonical JSON object without a reserved name, and
//     survives a round trip: the claims (context included), signed again and
//     verified, come back unchanged.
inline void CheckVerifyResult(absl::string_view token, const absl::StatusOr<AccessClaims>& result) {
  if (!result.ok()) {
    const std::optional<ErrorReason> reason = ReasonOf(result.status());
    FUZZ_CHECK(reason.has_value());
    FUZZ_CHECK(*reason == ErrorReason::TOKEN_MALFORMED ||
               *reason == ErrorReason::TOKEN_SIGNATURE_INVALID ||
               *reason == ErrorReason::TOKEN_EXPIRED ||
               *reason == ErrorReason::TOKEN_NOT_YET_VALID ||
               *reason == ErrorReason::TOKEN_AUDIENCE_MISMATCH ||
               *reason == ErrorReason::TOKEN_ISSUER_MISMATCH);
    FUZZ_CHECK(result.status().code() == ErrorReasonCode(*reason));
    // Messages are short, so they cannot carry a token (the fuzzer soon
    // finds that a token may itself be a piece of an error message).
    FUZZ_CHECK(result.status().message().size() <= 80);
    return;
  }
  FUZZ_CHECK(!token.empty() && token.size() <= FuzzVerifyOptions().max_token_bytes);
  const AccessClaims& claims = *result;
  FUZZ_CHECK(claims.issuer == kFuzzIssuer);
  FUZZ_CHECK(claims.audience == kFuzzAudience);
  for (const absl::Time t : {claims.issued_at, claims.not_before, claims.expires_at}) {
    FUZZ_CHECK(t == absl::FromUnixSeconds(absl::ToUnixSeconds(t)));
  }
  if (claims.context.auth_time) {
    const absl::Time t = *claims.context.auth_time;
    FUZZ_CHECK(t == absl::FromUnixSeconds(absl::ToUnixSeconds(t)));
  }
  for (const std::string& scope : claims.context.scopes) {
    FUZZ_CHECK(!scope.empty() && scope.find(' ') == std::string::npos);
  }
  const nlohmann::json custom = nlohmann::json::parse(claims.context.claims, nullptr, false);
  FUZZ_CHECK(custom.is_object());
  FUZZ_CHECK(custom.dump() == claims.context.claims);
  for (auto it = custom.begin(); it != custom.end(); ++it) {
    FUZZ_CHECK(!IsReservedClaimName(it.key()));
  }
  const absl::Duration skew = FuzzVerifyOptions().clock_skew;
  FUZZ_CHECK(kFuzzNow < claims.expires_at + skew);
  FUZZ_CHECK(claims.not_before <= kFuzzNow + skew);

  // The JSON parser only yields UTF-8 strings, so the signer accepts them.
  absl::StatusOr<std::string> again = SignAccessToken(claims, *FuzzKey());
  FUZZ_CHECK(again.ok());
  absl::StatusOr<AccessClaims> reverified =
      VerifyAccessToken(*again, FuzzKeySet(), FuzzVerifyOptions(), kFuzzNow);
  // The signer's form can be longer than the input (its own header, integer
  // times where the input had "2e9"), and then exceed the length cap.
  if (!reverified.ok()) {
    FUZZ_CHECK(again->size() > FuzzVerifyOptions().max_token_bytes);
    return;
  }
  FUZZ_CHECK(*reverified == claims);
}

}  // namespace token::fuzz

#endif  // TOKEN_FUZZ_JWT_INVARIANTS_H_
