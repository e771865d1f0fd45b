// Result<T>: the outcome of one TokenClient call, either a value or an Error
// carrying the gRPC status code, the ErrorInfo reason as an enum, the
// service's message and how many attempts were made.
#ifndef TOKEN_CLIENT_CPP_RESULT_H_
#define TOKEN_CLIENT_CPP_RESULT_H_

#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "client/cpp/error_reason.h"
#include "grpcpp/support/status.h"

namespace token::client {

// Error: why a call failed.
struct Error {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  // reason: ERROR_REASON_UNSPECIFIED when reason_name is empty (no ErrorInfo)
  // or names a reason this client version does not know.
  ErrorReason reason = ErrorReason::ERROR_REASON_UNSPECIFIED;
  // reason_name: the ErrorInfo reason exactly as the service sent it, or "".
  // A request the client refuses before sending it (attempts == 0, e.g.
  // claims_json that is not a JSON object) carries the reason the service
  // would have sent.
  std::string reason_name{};
  // message: for humans; may change between versions. Never contains a token.
  std::string message{};
  // attempts: RPC attempts made, retries included (0 if none was made, for
  // example when the deadline had already passed or a shared call was awaited).
  int attempts = 0;

  // FromStatus builds an Error from a failed call's status.
  static Error FromStatus(const grpc::Status& status, int attempts) {
    std::string name = ErrorInfoReason(status);
    const ErrorReason reason = ParseErrorReason(name);
    return Error{status.error_code(), reason, std::move(name), status.error_message(), attempts};
  }
  // ToString: "UNAUTHENTICATED/TOKEN_EXPIRED: access token has expired".
  std::string ToString() const {
    std::string out(StatusCodeName(code));
    if (!reason_name.empty()) absl::StrAppend(&out, "/", reason_name);
    if (!message.empty()) absl::StrAppend(&out, ": ", message);
    return out;
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }

  // value: REQUIRES ok().
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // error: REQUIRES !ok().
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_RESULT_H_
