#include "client/cpp/error_reason.h"

#include <array>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace token::client {
namespace {

// Every reason that has a wire name; ParseErrorReason searches it.
constexpr std::array kWireReasons = {
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

// No default: a new enumerator without a name fails to compile (-Werror=switch).
absl::string_view ErrorReasonName(ErrorReason reason) {
  switch (reason) {
    case ErrorReason::kNone:
      return "";
    case ErrorReason::kUnknown:
      return "UNKNOWN";
    case ErrorReason::kInvalidSubject:
      return "INVALID_SUBJECT";
    case ErrorReason::kInvalidClaims:
      return "INVALID_CLAIMS";
    case ErrorReason::kInvalidSessionId:
      return "INVALID_SESSION_ID";
    case ErrorReason::kInvalidPageToken:
      return "INVALID_PAGE_TOKEN";
    case ErrorReason::kInvalidRequest:
      return "INVALID_REQUEST";
    case ErrorReason::kRefreshTokenInvalid:
      return "REFRESH_TOKEN_INVALID";
    case ErrorReason::kRefreshTokenExpired:
      return "REFRESH_TOKEN_EXPIRED";
    case ErrorReason::kSessionRevoked:
      return "SESSION_REVOKED";
    case ErrorReason::kRefreshTokenReused:
      return "REFRESH_TOKEN_REUSED";
    case ErrorReason::kTokenMalformed:
      return "TOKEN_MALFORMED";
    case ErrorReason::kTokenSignatureInvalid:
      return "TOKEN_SIGNATURE_INVALID";
    case ErrorReason::kTokenExpired:
      return "TOKEN_EXPIRED";
    case ErrorReason::kTokenNotYetValid:
      return "TOKEN_NOT_YET_VALID";
    case ErrorReason::kTokenAudienceMismatch:
      return "TOKEN_AUDIENCE_MISMATCH";
    case ErrorReason::kTokenIssuerMismatch:
      return "TOKEN_ISSUER_MISMATCH";
    case ErrorReason::kTokenRevoked:
      return "TOKEN_REVOKED";
    case ErrorReason::kMissingRole:
      return "MISSING_ROLE";
    case ErrorReason::kDatabaseUnavailable:
      return "DATABASE_UNAVAILABLE";
    case ErrorReason::kServiceNotReady:
      return "SERVICE_NOT_READY";
    case ErrorReason::kOverloaded:
      return "OVERLOADED";
    case ErrorReason::kRateLimited:
      return "RATE_LIMITED";
    case ErrorReason::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
  }
  return "UNKNOWN";  // Unreachable: the enum is closed.
}

ErrorReason ParseErrorReason(absl::string_view name) {
  for (ErrorReason reason : kWireReasons) {
    if (ErrorReasonName(reason) == name) return reason;
  }
  return ErrorReason::kUnknown;
}

ErrorReason ErrorReasonOf(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return ErrorReason::kNone;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return ErrorReason::kNone;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.domain() == kErrorDomain) {
      return ParseErrorReason(info.reason());
    }
  }
  return ErrorReason::kNone;
}

absl::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::DO_NOT_USE:
      break;
  }
  return "UNKNOWN";
}

}  // namespace token::client
