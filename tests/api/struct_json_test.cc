// Struct <-> JSON for custom claims: integral numbers within ±2^53 become
// JSON integers, everything else keeps its type, NaN/infinity are refused.
#include "server/api/struct_json.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "server/common/error_reason.h"

namespace token {
namespace {

google::protobuf::Struct StructOf(const char* json) {
  google::protobuf::Struct out;
  JsonToStruct(nlohmann::json::parse(json), out);
  return out;
}

TEST(StructJsonTest, IntegralNumbersBecomeIntegers) {
  google::protobuf::Struct s;
  auto& fields = *s.mutable_fields();
  fields["five"].set_number_value(5);
  fields["neg"].set_number_value(-42);
  fields["half"].set_number_value(0.5);
  fields["max"].set_number_value(9007199254740992.0);    // 2^53: exact.
  fields["past"].set_number_value(18014398509481984.0);  // 2^54: not all integers exact.
  absl::StatusOr<nlohmann::json> json = StructToJson(s, "claims");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      json->dump(),
      R"({"five":5,"half":0.5,"max":9007199254740992,"neg":-42,"past":1.8014398509481984e+16})");
}

TEST(StructJsonTest, NestedValuesKeepTheirTypes) {
  const char* text = R"({"a":[1,"x",true,null,{"b":[]}],"c":{"d":2.25}})";
  absl::StatusOr<nlohmann::json> json = StructToJson(StructOf(text), "claims");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, nlohmann::json::parse(text));
}

TEST(StructJsonTest, NonFiniteNumbersFailNamingThePath) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    google::protobuf::Struct s = StructOf(R"({"outer":{"list":[0, 1]}})");
    (*s.mutable_fields())["outer"]
        .mutable_struct_value()
        ->mutable_fields()
        ->at("list")
        .mutable_list_value()
        ->mutable_values(1)
        ->set_number_value(bad);
    absl::StatusOr<nlohmann::json> json = StructToJson(s, "claims");
    ASSERT_FALSE(json.ok());
    EXPECT_EQ(ReasonOf(json.status()), ErrorReason::INVALID_CLAIMS);
    EXPECT_NE(json.status().message().find("claims.outer.list[1]"), std::string::npos)
        << json.status();
  }
}

TEST(StructJsonTest, NonObjectJsonLeavesStructEmpty) {
  google::protobuf::Struct out;
  JsonToStruct(nlohmann::json::array({1, 2}), out);
  EXPECT_EQ(out.fields_size(), 0);
}

}  // namespace
}  // namespace token
