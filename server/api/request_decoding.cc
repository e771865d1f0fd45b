#include "server/api/request_decoding.h"

#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/support/slice.h"
#include "server/session/request_validation.h"

namespace token {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// True if some string field of `fields` (as described by `descriptor`),
// at any depth, is not valid UTF-8.
bool HasInvalidUtf8(const UnknownFieldSet& fields, const Descriptor& descriptor, int depth);

bool FieldHasInvalidUtf8(const UnknownField& field, const Descriptor& descriptor, int depth) {
  if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) return false;
  const FieldDescriptor* fd = descriptor.FindFieldByNumber(field.number());
  if (fd == nullptr) return false;
  if (fd->type() == FieldDescriptor::TYPE_STRING) {
    return !IsValidUtf8(field.length_delimited());
  }
  if (fd->type() == FieldDescriptor::TYPE_MESSAGE && depth < 8) {
    UnknownFieldSet nested;
    return nested.ParseFromString(field.length_delimited()) &&
           HasInvalidUtf8(nested, *fd->message_type(), depth + 1);
  }
  return false;
}

bool HasInvalidUtf8(const UnknownFieldSet& fields, const Descriptor& descriptor, int depth) {
  for (int i = 0; i < fields.field_count(); ++i) {
    if (FieldHasInvalidUtf8(fields.field(i), descriptor, depth)) return true;
  }
  return false;
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace

absl::Status DecodeRequest(const grpc::ByteBuffer& buffer, google::protobuf::Message& message,
                           std::initializer_list<FieldReason> reasons) {
  const std::string bytes = Flatten(buffer);
  if (message.ParseFromString(bytes)) return absl::OkStatus();

  UnknownFieldSet fields;
  if (fields.ParseFromString(bytes)) {
    const Descriptor& descriptor = *message.GetDescriptor();
    for (int i = 0; i < fields.field_count(); ++i) {
      const UnknownField& field = fields.field(i);
      if (!FieldHasInvalidUtf8(field, descriptor, 0)) continue;
      for (const auto& [number, reason] : reasons) {
        if (number == field.number()) {
          return MakeError(reason, "request field is not valid UTF-8");
        }
      }
      return MakeError(ErrorReason::INVALID_REQUEST, "request field is not valid UTF-8");
    }
  }
  return MakeError(ErrorReason::INVALID_REQUEST, "request could not be parsed");
}

void EncodeResponse(const google::protobuf::Message& message, grpc::ByteBuffer& buffer) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  buffer = grpc::ByteBuffer(&slice, 1);
}

}  // namespace token
