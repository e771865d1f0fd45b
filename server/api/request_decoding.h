// Request decoding for the raw (ByteBuffer) handlers. gRPC would answer a
// request that does not parse — for example invalid UTF-8 in a string field —
// with INTERNAL; decoding it here lets the API answer INVALID_ARGUMENT or
// UNAUTHENTICATED with the reason of the offending field instead.
#ifndef TOKEN_SERVER_API_REQUEST_DECODING_H_
#define TOKEN_SERVER_API_REQUEST_DECODING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/common/error_reason.h"

namespace token {

// FieldReason: the reason to report when top-level field `number` is bad.
using FieldReason = std::pair<int, ErrorReason>;

// DecodeRequest parses `buffer` into `message`. On failure it finds the first
// top-level field holding invalid UTF-8 (directly or in a nested message) and
// fails with that field's reason from `reasons`, else INVALID_REQUEST.
absl::Status DecodeRequest(const grpc::ByteBuffer& buffer, google::protobuf::Message& message,
                           std::initializer_list<FieldReason> reasons);

// EncodeResponse serializes `message` into `buffer`.
void EncodeResponse(const google::protobuf::Message& message, grpc::ByteBuffer& buffer);

}  // namespace token

#endif  // TOKEN_SERVER_API_REQUEST_DECODING_H_
