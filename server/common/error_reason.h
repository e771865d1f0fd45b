// Error reasons of the token.v1 API and their mapping onto canonical status
// codes. Core code fails with MakeError(reason, message); the API layer reads
// the reason back with ReasonOf() and puts it into google.rpc.ErrorInfo.
#ifndef TOKEN_SERVER_COMMON_ERROR_REASON_H_
#define TOKEN_SERVER_COMMON_ERROR_REASON_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace token {

// ErrorReason: every reason the API can report. Documented for callers in
// proto/token/v1/token.proto; the strings are part of the wire contract.
enum class ErrorReason {
  // The subject is empty, too long, not UTF-8 or has control characters.
  kInvalidSubject,
  // A role, the audience or the client metadata of IssueTokens is invalid.
  kInvalidClaims,
  // A session id is not a canonical UUID.
  kInvalidSessionId,
  // A ListSessions page token was not issued for this subject.
  kInvalidPageToken,
  // Any other malformed request field, or bytes that do not parse.
  kInvalidRequest,
  // Not a refresh token this service issued; revokes nothing.
  kRefreshTokenInvalid,
  // The session's idle or absolute lifetime ended.
  kRefreshTokenExpired,
  // The session was revoked.
  kSessionRevoked,
  // A rotated-away refresh token was presented again; the family is revoked.
  kRefreshTokenReused,
  // The access token is not a well-formed compact JWS with our claims.
  kTokenMalformed,
  // Wrong algorithm, unknown kid or bad signature.
  kTokenSignatureInvalid,
  // exp has passed (beyond the clock-skew leeway).
  kTokenExpired,
  // nbf is in the future (beyond the clock-skew leeway).
  kTokenNotYetValid,
  // aud does not contain the expected audience.
  kTokenAudienceMismatch,
  // iss is not ours.
  kTokenIssuerMismatch,
  // The token's session or subject has been revoked.
  kTokenRevoked,
  // The token lacks a required role.
  kMissingRole,
  // The database is down or too slow; nothing was written.
  kDatabaseUnavailable,
  // The service cannot answer correctly right now (no key, feed out of sync, draining).
  kServiceNotReady,
  // Too much work is queued.
  kOverloaded,
  // Too many failed refresh attempts for this session or client address.
  kRateLimited,
  // The caller's deadline passed before the work was done.
  kDeadlineExceeded,
};

// ErrorReasonName returns the wire string of `reason`, e.g. "TOKEN_EXPIRED".
absl::string_view ErrorReasonName(ErrorReason reason);

// ErrorReasonCode returns the canonical status code that `reason` travels with.
absl::StatusCode ErrorReasonCode(ErrorReason reason);

// MakeError returns a status with the code of `reason` and `reason` attached.
// NOTE: `message` reaches callers; never put a token, hash or key into it.
absl::Status MakeError(ErrorReason reason, absl::string_view message);

// ReasonOf returns the reason attached by MakeError, or nullopt for a status
// that carries none (for example one produced by a library).
std::optional<ErrorReason> ReasonOf(const absl::Status& status);

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_ERROR_REASON_H_
