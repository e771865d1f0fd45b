#include "server/common/error_reason.h"

#include <array>
#include <string>

#include "absl/strings/cord.h"

namespace token {
namespace {

// Payload key under which MakeError stores the reason name.
constexpr absl::string_view kReasonPayloadUrl = "type.googleapis.com/token.v1.ErrorReason";

struct ReasonInfo {
  absl::string_view name;
  absl::StatusCode code;
};

// No default: adding an ErrorReason without mapping it fails to compile
// (-Werror=switch).
ReasonInfo Describe(ErrorReason reason) {
  using C = absl::StatusCode;
  switch (reason) {
    case ErrorReason::kInvalidSubject:
      return {"INVALID_SUBJECT", C::kInvalidArgument};
    case ErrorReason::kInvalidClaims:
      return {"INVALID_CLAIMS", C::kInvalidArgument};
    case ErrorReason::kInvalidSessionId:
      return {"INVALID_SESSION_ID", C::kInvalidArgument};
    case ErrorReason::kInvalidPageToken:
      return {"INVALID_PAGE_TOKEN", C::kInvalidArgument};
    case ErrorReason::kInvalidRequest:
      return {"INVALID_REQUEST", C::kInvalidArgument};
    case ErrorReason::kRefreshTokenInvalid:
      return {"REFRESH_TOKEN_INVALID", C::kUnauthenticated};
    case ErrorReason::kRefreshTokenExpired:
      return {"REFRESH_TOKEN_EXPIRED", C::kUnauthenticated};
    case ErrorReason::kSessionRevoked:
      return {"SESSION_REVOKED", C::kUnauthenticated};
    case ErrorReason::kRefreshTokenReused:
      return {"REFRESH_TOKEN_REUSED", C::kUnauthenticated};
    case ErrorReason::kTokenMalformed:
      return {"TOKEN_MALFORMED", C::kUnauthenticated};
    case ErrorReason::kTokenSignatureInvalid:
      return {"TOKEN_SIGNATURE_INVALID", C::kUnauthenticated};
    case ErrorReason::kTokenExpired:
      return {"TOKEN_EXPIRED", C::kUnauthenticated};
    case ErrorReason::kTokenNotYetValid:
      return {"TOKEN_NOT_YET_VALID", C::kUnauthenticated};
    case ErrorReason::kTokenAudienceMismatch:
      return {"TOKEN_AUDIENCE_MISMATCH", C::kUnauthenticated};
    case ErrorReason::kTokenIssuerMismatch:
      return {"TOKEN_ISSUER_MISMATCH", C::kUnauthenticated};
    case ErrorReason::kTokenRevoked:
      return {"TOKEN_REVOKED", C::kUnauthenticated};
    case ErrorReason::kMissingRole:
      return {"MISSING_ROLE", C::kPermissionDenied};
    case ErrorReason::kDatabaseUnavailable:
      return {"DATABASE_UNAVAILABLE", C::kUnavailable};
    case ErrorReason::kServiceNotReady:
      return {"SERVICE_NOT_READY", C::kUnavailable};
    case ErrorReason::kOverloaded:
      return {"OVERLOADED", C::kResourceExhausted};
    case ErrorReason::kRateLimited:
      return {"RATE_LIMITED", C::kResourceExhausted};
    case ErrorReason::kDeadlineExceeded:
      return {"DEADLINE_EXCEEDED", C::kDeadlineExceeded};
  }
  return {"INVALID_REQUEST", C::kInvalidArgument};  // Unreachable: enum is closed.
}

constexpr std::array kAllReasons = {
    ErrorReason::kInvalidSubject,        ErrorReason::kInvalidClaims,
    ErrorReason::kInvalidSessionId,      ErrorReason::kInvalidPageToken,
    ErrorReason::kInvalidRequest,        ErrorReason::kRefreshTokenInvalid,
    ErrorReason::kRefreshTokenExpired,   ErrorReason::kSessionRevoked,
    ErrorReason::kRefreshTokenReused,    ErrorReason::kTokenMalformed,
    ErrorReason::kTokenSignatureInvalid, ErrorReason::kTokenExpired,
    ErrorReason::kTokenNotYetValid,      ErrorReason::kTokenAudienceMismatch,
    ErrorReason::kTokenIssuerMismatch,   ErrorReason::kTokenRevoked,
    ErrorReason::kMissingRole,           ErrorReason::kDatabaseUnavailable,
    ErrorReason::kServiceNotReady,       ErrorReason::kOverloaded,
    ErrorReason::kRateLimited,           ErrorReason::kDeadlineExceeded,
};

}  // namespace

absl::string_view ErrorReasonName(ErrorReason reason) { return Describe(reason).name; }

absl::StatusCode ErrorReasonCode(ErrorReason reason) { return Describe(reason).code; }

absl::Status MakeError(ErrorReason reason, absl::string_view message) {
  absl::Status status(ErrorReasonCode(reason), message);
  status.SetPayload(kReasonPayloadUrl, absl::Cord(ErrorReasonName(reason)));
  return status;
}

std::optional<ErrorReason> ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string name(*payload);
  for (ErrorReason reason : kAllReasons) {
    if (ErrorReasonName(reason) == name) return reason;
  }
  return std::nullopt;
}

}  // namespace token
