// Error reasons of the token.v1 API as the client sees them: the
// google.rpc.ErrorInfo `reason` string of a failed call, as the enum
// generated from proto/token/v1/error_reason.proto (value names are the wire
// strings), so client code switches on a reason instead of comparing text.
#ifndef TOKEN_CLIENT_CPP_ERROR_REASON_H_
#define TOKEN_CLIENT_CPP_ERROR_REASON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
#include "token/v1/error_reason.pb.h"

namespace token::client {

// ErrorReason: spell values `ErrorReason::TOKEN_EXPIRED`.
// ERROR_REASON_UNSPECIFIED stands for "no token.v1 ErrorInfo" (a transport
// failure, a deadline that expired in the client) and for a reason this
// client version does not know (from a newer server); Error::reason_name
// tells the two apart.
using ErrorReason = ::token::v1::ErrorReason;

// ErrorDomain returns ErrorInfo.domain of every reason: "token.v1".
absl::string_view ErrorDomain();

// ErrorReasonName returns the wire string of `reason` ("TOKEN_EXPIRED"), or
// "" for ERROR_REASON_UNSPECIFIED.
absl::string_view ErrorReasonName(ErrorReason reason);

// ParseErrorReason maps a wire string onto the enum; any string this client
// does not know, including "", is ERROR_REASON_UNSPECIFIED.
ErrorReason ParseErrorReason(absl::string_view name);

// ErrorInfoReason returns the `reason` of the token.v1 ErrorInfo in a failed
// call's details (`grpc-status-details-bin`) as sent, or "" when there is
// none or the details do not parse.
std::string ErrorInfoReason(const grpc::Status& status);

// ErrorReasonOf is ParseErrorReason(ErrorInfoReason(status)).
ErrorReason ErrorReasonOf(const grpc::Status& status);

// StatusCodeName returns the canonical name of `code` ("UNAVAILABLE").
absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_ERROR_REASON_H_
