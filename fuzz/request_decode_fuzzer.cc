// Fuzz target request_decode: DecodeRequest on raw request bytes, the first
// thing every RPC does with what a client sent (proto/token/v1/token.proto: bytes that do
// not parse must become INVALID_ARGUMENT or UNAUTHENTICATED with a reason,
// never INTERNAL). Input: one byte choosing the request type (modulo the
// number of types), then the serialized message.
// Invariants: failures carry a reason from the RPC's table or
// INVALID_REQUEST, with its code, never INTERNAL; a decoded request holds only
// strings our UTF-8 check accepts and re-serializes to an equal message.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/fuzz_support.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "server/api/request_decoding.h"
#include "server/common/error_reason.h"
#include "server/session/request_validation.h"
#include "token/v1/token.pb.h"

namespace token::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The field -> reason tables of server/api/token_service.cc, per RPC.
using Reasons = std::initializer_list<FieldReason>;
struct RequestType {
  std::unique_ptr<Message> (*make)();
  Reasons reasons;
};

template <typename T>
std::unique_ptr<Message> Make() {
  return std::make_unique<T>();
}

const RequestType kRequestTypes[] = {
    {Make<v1::IssueTokensRequest>,
     {{1, ErrorReason::INVALID_SUBJECT},
      {2, ErrorReason::INVALID_CLAIMS},
      {3, ErrorReason::INVALID_CLAIMS},
      {4, ErrorReason::INVALID_CLAIMS}}},
    {Make<v1::RefreshTokensRequest>, {{1, ErrorReason::REFRESH_TOKEN_INVALID}}},
    {Make<v1::VerifyAccessRequest>, {{1, ErrorReason::TOKEN_MALFORMED}}},
    {Make<v1::RevokeAllRequest>, {{1, ErrorReason::INVALID_SUBJECT}}},
    {Make<v1::RevokeSessionRequest>, {{1, ErrorReason::INVALID_SESSION_ID}}},
    {Make<v1::ListSessionsRequest>,
     {{1, ErrorReason::INVALID_SUBJECT}, {3, ErrorReason::INVALID_PAGE_TOKEN}}},
};

// AllStringsUtf8: every string in `message`, at any depth, passes IsValidUtf8.
bool AllStringsUtf8(const Message& message) {
  const Reflection& reflection = *message.GetReflection();
  const google::protobuf::Descriptor& descriptor = *message.GetDescriptor();
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    const bool repeated = field.is_repeated();
    const int count = repeated ? reflection.FieldSize(message, &field)
                               : (reflection.HasField(message, &field) ? 1 : 0);
    for (int j = 0; j < count; ++j) {
      if (field.type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& value =
            repeated ? reflection.GetRepeatedStringReference(message, &field, j, &scratch)
                     : reflection.GetStringReference(message, &field, &scratch);
        if (!IsValidUtf8(value)) return false;
      } else if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
        const Message& nested = repeated ? reflection.GetRepeatedMessage(message, &field, j)
                                         : reflection.GetMessage(message, &field);
        if (!AllStringsUtf8(nested)) return false;
      }
    }
  }
  return true;
}

void Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const RequestType& type = kRequestTypes[data[0] % std::size(kRequestTypes)];
  grpc::Slice slice(data + 1, size - 1);
  const grpc::ByteBuffer buffer(&slice, 1);
  const std::unique_ptr<Message> message = type.make();

  const absl::Status status = DecodeRequest(buffer, *message, type.reasons);
  if (!status.ok()) {
    const std::optional<ErrorReason> reason = ReasonOf(status);
    FUZZ_CHECK(reason.has_value());
    FUZZ_CHECK(status.code() == ErrorReasonCode(*reason));
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument ||
               status.code() == absl::StatusCode::kUnauthenticated);
    bool listed = *reason == ErrorReason::INVALID_REQUEST;
    for (const auto& [number, field_reason] : type.reasons) {
      listed = listed || field_reason == *reason;
    }
    FUZZ_CHECK(listed);
    return;
  }
  FUZZ_CHECK(AllStringsUtf8(*message));
  const std::unique_ptr<Message> again = type.make();
  FUZZ_CHECK(again->ParseFromString(message->SerializeAsString()));
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*message, *again));
}

}  // namespace
}  // namespace token::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  token::fuzz::Run(data, size);
  return 0;
}
