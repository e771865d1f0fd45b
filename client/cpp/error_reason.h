// Error reasons of the token.v1 API as the client sees them: the
// google.rpc.ErrorInfo `reason` string of a failed call, as an enum. The wire
// strings are documented in proto/token/v1/token.proto; this file mirrors
// them so that client code can switch on a reason instead of comparing text.
#ifndef TOKEN_CLIENT_CPP_ERROR_REASON_H_
#define TOKEN_CLIENT_CPP_ERROR_REASON_H_

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace token::client {

// kErrorDomain is ErrorInfo.domain of every reason below.
inline constexpr absl::string_view kErrorDomain = "token.v1";

// ErrorReason: why a call failed, read from the status details. Two values
// are the client's own: kNone (the status carried no token.v1 ErrorInfo, for
// example a connection failure or a deadline that expired in the client) and
// kUnknown (a reason this client version does not know, from a newer server).
enum class ErrorReason {
  // No token.v1 ErrorInfo was attached (transport failure, client deadline).
  kNone,
  // An ErrorInfo reason that this client does not know.
  kUnknown,
  // INVALID_ARGUMENT: the subject is empty, too long, not UTF-8 or has control characters.
  kInvalidSubject,
  // INVALID_ARGUMENT: a role, the audience or the client metadata of IssueTokens is invalid.
  kInvalidClaims,
  // INVALID_ARGUMENT: a session id is not a canonical UUID.
  kInvalidSessionId,
  // INVALID_ARGUMENT: a ListSessions page token was not issued for this subject.
  kInvalidPageToken,
  // INVALID_ARGUMENT: any other malformed request field.
  kInvalidRequest,
  // UNAUTHENTICATED: not a refresh token the service issued; revokes nothing.
  kRefreshTokenInvalid,
  // UNAUTHENTICATED: the session's idle or absolute lifetime ended.
  kRefreshTokenExpired,
  // UNAUTHENTICATED: the session was revoked.
  kSessionRevoked,
  // UNAUTHENTICATED: a rotated-away refresh token was replayed; the family is revoked.
  kRefreshTokenReused,
  // UNAUTHENTICATED: the access token is not a well-formed compact JWS with the claims.
  kTokenMalformed,
  // UNAUTHENTICATED: wrong algorithm, unknown kid or bad signature.
  kTokenSignatureInvalid,
  // UNAUTHENTICATED: exp has passed.
  kTokenExpired,
  // UNAUTHENTICATED: nbf is in the future.
  kTokenNotYetValid,
  // UNAUTHENTICATED: aud does not contain the expected audience.
  kTokenAudienceMismatch,
  // UNAUTHENTICATED: iss is not the service's issuer.
  kTokenIssuerMismatch,
  // UNAUTHENTICATED: the token's session or subject has been revoked.
  kTokenRevoked,
  // PERMISSION_DENIED: the token lacks a required role.
  kMissingRole,
  // UNAVAILABLE: the database is down or too slow; nothing was written.
  kDatabaseUnavailable,
  // UNAVAILABLE: the service cannot answer correctly yet (no key, feed out of sync, draining).
  kServiceNotReady,
  // RESOURCE_EXHAUSTED: more work is queued than the service accepts.
  kOverloaded,
  // RESOURCE_EXHAUSTED: too many failed refresh attempts for this session or address.
  kRateLimited,
  // DEADLINE_EXCEEDED: the deadline passed in the service before the work was done.
  kDeadlineExceeded,
};

// ErrorReasonName returns the wire string of `reason` ("TOKEN_EXPIRED"), or
// "" for kNone and "UNKNOWN" for kUnknown.
absl::string_view ErrorReasonName(ErrorReason reason);

// ParseErrorReason maps a wire string onto the enum. Any string this client
// does not know, including "", is kUnknown.
ErrorReason ParseErrorReason(absl::string_view name);

// ErrorReasonOf reads the ErrorInfo of domain token.v1 out of a failed call's
// details (`grpc-status-details-bin`). kNone when there is none or the
// details do not parse; kUnknown for a reason this client does not know.
ErrorReason ErrorReasonOf(const grpc::Status& status);

// StatusCodeName returns the canonical name of `code` ("UNAVAILABLE").
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_ERROR_REASON_H_
