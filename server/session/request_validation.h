// Input rules shared by every RPC (proto/token/v1/token.proto), checked before any
// database or crypto work. Each check fails with the caller-visible reason
// given to it, and its message names the field and rule, never the value.
#ifndef TOKEN_SERVER_SESSION_REQUEST_VALIDATION_H_
#define TOKEN_SERVER_SESSION_REQUEST_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/error_reason.h"
#include "server/store/session_store.h"

namespace token {

// Fixed by the contract.
inline constexpr size_t kMaxSubjectBytes = 255;
inline constexpr size_t kMaxAudienceBytes = 255;
inline constexpr size_t kMaxRevokeReasonBytes = 256;

// RequestLimits: the configurable limits (--max-roles, --max-role-bytes,
// --max-user-agent-bytes, --max-token-bytes, --max-claims-bytes); defaults as
// documented.
struct RequestLimits {
  size_t max_roles = 64;
  size_t max_role_bytes = 128;
  size_t max_user_agent_bytes = 512;
  size_t max_access_token_bytes = 8192;
  // ContextLimits::max_claims_bytes (server/session/context_validation.h).
  size_t max_claims_bytes = 4096;
};

// IsValidUtf8 is true for well-formed UTF-8: no overlong forms, surrogates
// or code points past U+10FFFF.
bool IsValidUtf8(absl::string_view text);

// IsPrintableUtf8 is true for well-formed UTF-8 (no overlong forms,
// surrogates or code points past U+10FFFF) without control characters
// (U+0000–U+001F, U+007F–U+009F).
bool IsPrintableUtf8(absl::string_view text);

// ValidateSubject: 1–255 bytes of printable UTF-8, else INVALID_SUBJECT.
absl::Status ValidateSubject(absl::string_view subject);

// ValidateAudience: 1–255 bytes of printable UTF-8, else `reason`.
absl::Status ValidateAudience(absl::string_view audience, ErrorReason reason);

// NormalizeRoles: at most limits.max_roles roles of 1–max_role_bytes bytes of
// printable UTF-8, else `reason`; returns them with duplicates dropped, first
// occurrence kept.
absl::StatusOr<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles,
                                                        ErrorReason reason,
                                                        const RequestLimits& limits = {});

// ValidateClient: user agent ≤ limits.max_user_agent_bytes of printable UTF-8;
// IP address empty or a literal IPv4/IPv6 address; else `reason`.
absl::Status ValidateClient(const ClientMetadata& client, ErrorReason reason,
                            const RequestLimits& limits = {});

// ValidateRevokeReason: ≤ 256 bytes of printable UTF-8, else INVALID_REQUEST.
absl::Status ValidateRevokeReason(absl::string_view reason);

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_REQUEST_VALIDATION_H_
