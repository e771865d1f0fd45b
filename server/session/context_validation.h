// Input rules for what a session carries besides subject, roles and audience
// (TokenContext and SessionMetadata, server/common/session_context.h; fields
// in proto/token/v1/token.proto). Like request_validation.h: network-free,
// no proto types, each check fails with the caller-visible reason given to it
// (INVALID_CLAIMS unless stated), and its message names the field and the
// rule, never the value.
#ifndef TOKEN_SERVER_SESSION_CONTEXT_VALIDATION_H_
#define TOKEN_SERVER_SESSION_CONTEXT_VALIDATION_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/common/error_reason.h"
#include "server/common/session_context.h"

namespace token {

// Fixed by the contract.
inline constexpr size_t kMaxClaimsDepth = 8;
inline constexpr size_t kMaxClaimNameBytes = 64;
inline constexpr size_t kMaxScopes = 64;
inline constexpr size_t kMaxScopeBytes = 128;
inline constexpr size_t kMaxAmrValues = 16;
inline constexpr size_t kMaxAmrBytes = 64;
inline constexpr size_t kMaxAcrBytes = 128;
inline constexpr size_t kMaxMetadataKeys = 16;
inline constexpr size_t kMaxMetadataKeyBytes = 64;
inline constexpr size_t kMaxMetadataValueBytes = 256;
// The default of --max-claims-bytes.
inline constexpr size_t kDefaultMaxClaimsBytes = 4096;

// ContextLimits: the configurable limits (--max-claims-bytes).
struct ContextLimits {
  size_t max_claims_bytes = kDefaultMaxClaimsBytes;
};

// CanonicalClaims checks the custom claims object and returns its canonical
// compact text (keys sorted, no whitespace), the form TokenContext::claims
// stores and the signer copies into tokens. Rules:
//   - a JSON object (null, a scalar or an array is refused);
//   - no top-level member named in kReservedClaimNames (server/jwt/claims.h);
//   - nesting depth <= kMaxClaimsDepth, the top-level object being depth 1
//     and every nested object or array one more;
//   - every member name at every depth 1–kMaxClaimNameBytes bytes of valid
//     UTF-8; every string value valid UTF-8; every number finite;
//   - the canonical text at most limits.max_claims_bytes bytes.
// Floating-point numbers with an integral value and magnitude <= 2^53 are
// written as integers (5, not 5.0): google.protobuf.Struct holds only doubles.
absl::StatusOr<std::string> CanonicalClaims(const nlohmann::json& claims,
                                            const ContextLimits& limits = {});

// NormalizeScopes: at most kMaxScopes scope tokens (RFC 6749 section 3.3),
// each 1–kMaxScopeBytes bytes of %x21 / %x23-5B / %x5D-7E, else `reason`;
// returns them with duplicates dropped, first occurrence kept. `field` names
// the request field in messages (VerifyAccess passes "required_scopes").
absl::StatusOr<std::vector<std::string>> NormalizeScopes(const std::vector<std::string>& scopes,
                                                         ErrorReason reason,
                                                         absl::string_view field = "scopes");

// NormalizeAmr: at most kMaxAmrValues values, each 1–kMaxAmrBytes bytes of
// printable UTF-8; returns them with duplicates dropped, first occurrence kept.
absl::StatusOr<std::vector<std::string>> NormalizeAmr(const std::vector<std::string>& amr);

// ValidateAcr: at most kMaxAcrBytes bytes of printable UTF-8 (empty means
// none), else `reason`. `field` names the request field in messages
// (VerifyAccess passes "acceptable_acr").
absl::Status ValidateAcr(absl::string_view acr, ErrorReason reason,
                         absl::string_view field = "acr");

// NormalizeAuthTime: unset stays unset; else not before 1970-01-01T00:00:00Z
// and not after now + skew (it records a past login), truncated to whole
// seconds as the token carries it.
absl::StatusOr<std::optional<absl::Time>> NormalizeAuthTime(std::optional<absl::Time> auth_time,
                                                            absl::Time now, absl::Duration skew);

// ValidateMetadata: at most kMaxMetadataKeys entries; keys
// 1–kMaxMetadataKeyBytes bytes and values at most kMaxMetadataValueBytes
// bytes, both printable UTF-8.
absl::Status ValidateMetadata(const SessionMetadata& metadata);

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_CONTEXT_VALIDATION_H_
