// ToGrpcStatus: the one place an absl::Status becomes a grpc::Status. The
// result carries a serialized google.rpc.Status with a google.rpc.ErrorInfo
// (domain "token.v1", the ErrorReason name) in grpc-status-details-bin.
#ifndef TOKEN_SERVER_API_STATUS_CONVERSION_H_
#define TOKEN_SERVER_API_STATUS_CONVERSION_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace token {

// ToGrpcStatus converts `status`. A failure without an ErrorReason (a bug, or
// a library error that slipped through) is logged and reported as
// UNAVAILABLE/SERVICE_NOT_READY rather than INTERNAL, so clients retry.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace token

#endif  // TOKEN_SERVER_API_STATUS_CONVERSION_H_
