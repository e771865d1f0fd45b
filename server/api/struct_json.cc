#include "server/api/struct_json.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"

namespace token {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// 2^53: every integer up to this magnitude is exact in a double.
constexpr double kMaxExactInteger = 9007199254740992.0;

absl::StatusOr<nlohmann::json> ValueToJson(const Value& value, const std::string& path);

absl::StatusOr<nlohmann::json> ObjectToJson(const Struct& object, const std::string& path) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, member] : object.fields()) {
    absl::StatusOr<nlohmann::json> converted = ValueToJson(member, absl::StrCat(path, ".", key));
    if (!converted.ok()) return converted.status();
    out[key] = *std::move(converted);
  }
  return out;
}

absl::StatusOr<nlohmann::json> ValueToJson(const Value& value, const std::string& path) {
  switch (value.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      return nlohmann::json(nullptr);
    case Value::kBoolValue:
      return nlohmann::json(value.bool_value());
    case Value::kStringValue:
      return nlohmann::json(value.string_value());
    case Value::kNumberValue: {
      const double number = value.number_value();
      if (!std::isfinite(number)) {
        return MakeError(
            ErrorReason::INVALID_CLAIMS,
            absl::StrCat(path, ": numbers must be finite (JSON has no NaN or infinity)"));
      }
      if (std::trunc(number) == number && std::fabs(number) <= kMaxExactInteger) {
        return nlohmann::json(static_cast<int64_t>(number));
      }
      return nlohmann::json(number);
    }
    case Value::kStructValue:
      return ObjectToJson(value.struct_value(), path);
    case Value::kListValue: {
      nlohmann::json out = nlohmann::json::array();
      int index = 0;
      for (const Value& element : value.list_value().values()) {
        absl::StatusOr<nlohmann::json> converted =
            ValueToJson(element, absl::StrCat(path, "[", index++, "]"));
        if (!converted.ok()) return converted.status();
        out.push_back(*std::move(converted));
      }
      return out;
    }
  }
  return nlohmann::json(nullptr);
}

void ToValue(const nlohmann::json& json, Value& out) {
  switch (json.type()) {
    case nlohmann::json::value_t::object:
      JsonToStruct(json, *out.mutable_struct_value());
      return;
    case nlohmann::json::value_t::array: {
      ListValue& list = *out.mutable_list_value();
      for (const nlohmann::json& element : json) ToValue(element, *list.add_values());
      return;
    }
    case nlohmann::json::value_t::string:
      out.set_string_value(json.get<std::string>());
      return;
    case nlohmann::json::value_t::boolean:
      out.set_bool_value(json.get<bool>());
      return;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      out.set_number_value(json.get<double>());
      return;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      out.set_null_value(google::protobuf::NULL_VALUE);
      return;
  }
}

}  // namespace

absl::StatusOr<nlohmann::json> StructToJson(const Struct& value, absl::string_view field) {
  return ObjectToJson(value, std::string(field));
}

void JsonToStruct(const nlohmann::json& object, Struct& out) {
  if (!object.is_object()) return;
  for (const auto& [key, member] : object.items()) ToValue(member, (*out.mutable_fields())[key]);
}

}  // namespace token
