#include "server/api/status_conversion.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"

namespace token {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  absl::Status reasoned = status;
  if (!ReasonOf(status).has_value()) {
    Log(LogLevel::kError, "failure without a reason",
        {{"code", absl::StatusCodeToString(status.code())},
         {"error", std::string(status.message())}});
    reasoned = MakeError(ErrorReason::SERVICE_NOT_READY, "temporary failure; retry");
  }
  const ErrorReason reason = *ReasonOf(reasoned);
  const auto code = static_cast<grpc::StatusCode>(reasoned.code());
  const std::string message(reasoned.message());

  google::rpc::ErrorInfo info;
  info.set_reason(std::string(ErrorReasonName(reason)));
  info.set_domain(std::string(ErrorDomain()));
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(info);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace token
