#include "server/common/error_reason.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace token {
namespace {

// Payload key under which MakeError stores the reason's enum number (not its
// name), so reading it back is a number parse, not a search.
constexpr absl::string_view kReasonPayloadUrl = "type.googleapis.com/token.v1.ErrorReason";

}  // namespace

// The descriptor pool owns the string for the life of the process.
absl::string_view ErrorDomain() { return v1::ErrorReason_descriptor()->file()->package(); }

absl::string_view ErrorReasonName(ErrorReason reason) { return v1::ErrorReason_Name(reason); }

// The one reason → code mapping. No default: a value added to
// error_reason.proto without a code here fails to compile (-Werror=switch).
absl::StatusCode ErrorReasonCode(ErrorReason reason) {
  using C = absl::StatusCode;
  switch (reason) {
    case ErrorReason::INVALID_SUBJECT:
    case ErrorReason::INVALID_CLAIMS:
    case ErrorReason::INVALID_SESSION_ID:
    case ErrorReason::INVALID_PAGE_TOKEN:
    case ErrorReason::INVALID_REQUEST:
      return C::kInvalidArgument;
    case ErrorReason::REFRESH_TOKEN_INVALID:
    case ErrorReason::REFRESH_TOKEN_EXPIRED:
    case ErrorReason::SESSION_REVOKED:
    case ErrorReason::REFRESH_TOKEN_REUSED:
    case ErrorReason::TOKEN_MALFORMED:
    case ErrorReason::TOKEN_SIGNATURE_INVALID:
    case ErrorReason::TOKEN_EXPIRED:
    case ErrorReason::TOKEN_NOT_YET_VALID:
    case ErrorReason::TOKEN_AUDIENCE_MISMATCH:
    case ErrorReason::TOKEN_ISSUER_MISMATCH:
    case ErrorReason::TOKEN_REVOKED:
    case ErrorReason::INSUFFICIENT_USER_AUTHENTICATION:
      return C::kUnauthenticated;
    case ErrorReason::SESSION_NOT_FOUND:
      return C::kNotFound;
    case ErrorReason::MISSING_ROLE:
    case ErrorReason::MISSING_SCOPE:
      return C::kPermissionDenied;
    case ErrorReason::DATABASE_UNAVAILABLE:
    case ErrorReason::SERVICE_NOT_READY:
      return C::kUnavailable;
    case ErrorReason::OVERLOADED:
    case ErrorReason::RATE_LIMITED:
      return C::kResourceExhausted;
    case ErrorReason::DEADLINE_EXCEEDED:
      return C::kDeadlineExceeded;
    // Never attached by the server; listed so the switch stays exhaustive
    // over the generated enum (proto3 adds the two sentinels).
    case ErrorReason::ERROR_REASON_UNSPECIFIED:
    case ErrorReason::ErrorReason_INT_MIN_SENTINEL_DO_NOT_USE_:
    case ErrorReason::ErrorReason_INT_MAX_SENTINEL_DO_NOT_USE_:
      return C::kUnknown;
  }
  return C::kUnknown;  // Unreachable for values of the enum.
}

absl::Status MakeError(ErrorReason reason, absl::string_view message) {
  absl::Status status(ErrorReasonCode(reason), message);
  status.SetPayload(kReasonPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(reason))));
  return status;
}

std::optional<ErrorReason> ReasonOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kReasonPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  int number = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &number) || !v1::ErrorReason_IsValid(number) ||
      number == ErrorReason::ERROR_REASON_UNSPECIFIED) {
    return std::nullopt;
  }
  return static_cast<ErrorReason>(number);
}

}  // namespace token
