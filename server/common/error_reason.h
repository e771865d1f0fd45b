// Error reasons of the token.v1 API inside the server. The reasons themselves
// (names = wire strings, status codes, when each is sent) are defined once, in
// proto/token/v1/error_reason.proto; core code fails with
// MakeError(reason, message), which carries the reason as a typed value, and
// the API layer reads it back with ReasonOf() into google.rpc.ErrorInfo.
#ifndef TOKEN_SERVER_COMMON_ERROR_REASON_H_
#define TOKEN_SERVER_COMMON_ERROR_REASON_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "token/v1/error_reason.pb.h"

namespace token {

// ErrorReason: the generated enum; spell values `ErrorReason::TOKEN_EXPIRED`.
using ErrorReason = ::token::v1::ErrorReason;

// ErrorDomain returns ErrorInfo.domain of every reason: the proto package,
// "token.v1".
absl::string_view ErrorDomain();

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
