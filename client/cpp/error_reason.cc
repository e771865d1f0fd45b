#include "client/cpp/error_reason.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace token::client {

absl::string_view ErrorDomain() { return v1::ErrorReason_descriptor()->file()->package(); }

absl::string_view ErrorReasonName(ErrorReason reason) {
  if (reason == v1::ERROR_REASON_UNSPECIFIED) return "";
  return v1::ErrorReason_Name(reason);
}

ErrorReason ParseErrorReason(absl::string_view name) {
  ErrorReason reason = v1::ERROR_REASON_UNSPECIFIED;
  if (!v1::ErrorReason_Parse(std::string(name), &reason)) return v1::ERROR_REASON_UNSPECIFIED;
  return reason;
}

std::string ErrorInfoReason(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return "";
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.domain() == ErrorDomain()) return info.reason();
  }
  return "";
}

ErrorReason ErrorReasonOf(const grpc::Status& status) {
  return ParseErrorReason(ErrorInfoReason(status));
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
