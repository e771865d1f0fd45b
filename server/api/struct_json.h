// Conversions between google.protobuf.Struct (custom claims on the wire) and
// nlohmann::json (custom claims in the core). Protobuf numbers are doubles;
// JSON claims should not turn a tenant id of 5 into 5.0, so integral numbers
// within ±2^53 (exactly representable) become JSON integers.
#ifndef TOKEN_SERVER_API_STRUCT_JSON_H_
#define TOKEN_SERVER_API_STRUCT_JSON_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "nlohmann/json.hpp"

namespace token {

// StructToJson converts `value` into a JSON object. NaN and infinities (which
// JSON cannot carry) fail with INVALID_CLAIMS; the message names the path
// under `field`, never a value.
absl::StatusOr<nlohmann::json> StructToJson(const google::protobuf::Struct& value,
                                            absl::string_view field);

// JsonToStruct converts a JSON object (claims as stored or read from a token)
// into `out`. Members of other JSON types than object are ignored at the top.
void JsonToStruct(const nlohmann::json& object, google::protobuf::Struct& out);

}  // namespace token

#endif  // TOKEN_SERVER_API_STRUCT_JSON_H_
