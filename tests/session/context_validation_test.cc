#include "server/session/context_validation.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/error_reason.h"
#include "server/jwt/claims.h"
#include "tests/common/status_matchers.h"

namespace token {
namespace {

using std::string_literals::operator""s;
using test::HasReason;
using json = nlohmann::json;

// FailsNaming: failed with INVALID_CLAIMS and a message that contains
// `field` and not `secret` (the offending value).
::testing::AssertionResult FailsNaming(const absl::Status& status, absl::string_view field,
                                       absl::string_view secret = "") {
  ::testing::AssertionResult failed = HasReason(status, ErrorReason::INVALID_CLAIMS);
  if (!failed) return failed;
  if (!absl::StrContains(status.message(), field)) {
    return ::testing::AssertionFailure()
           << "message \"" << status.message() << "\" lacks \"" << field << "\"";
  }
  if (!secret.empty() && absl::StrContains(status.message(), secret)) {
    return ::testing::AssertionFailure()
           << "message \"" << status.message() << "\" contains the value";
  }
  return ::testing::AssertionSuccess();
}

// Nested returns `levels` containers nested inside each other: objects
// {"k":{"k":...}} ending in 1 (arrays [[...]] when `arrays`).
json Nested(size_t levels, bool arrays = false) {
  json value = 1;
  for (size_t i = 0; i < levels; ++i) {
    value = arrays ? json::array({value}) : json({{"k", value}});
  }
  return value;
}

// --- CanonicalClaims --------------------------------------------------------

// The canonical form is compact with sorted keys; an empty object is "{}".
TEST(CanonicalClaimsTest, ReturnsCompactSortedJson) {
  EXPECT_EQ(*CanonicalClaims(json::object()), "{}");
  const json claims = json::parse(R"({ "z": [1, "two", null, true], "a": {"y": 1, "b": "é"} })");
  EXPECT_EQ(*CanonicalClaims(claims), R"({"a":{"b":"é","y":1},"z":[1,"two",null,true]})");
}

// Integral doubles within 2^53 become integers (Struct holds only doubles);
// others stay floating point.
TEST(CanonicalClaimsTest, IntegralDoublesBecomeIntegers) {
  const json claims = {{"a", 5.0},
                       {"b", -3.0},
                       {"c", 9007199254740992.0},
                       {"d", -9007199254740992.0},
                       {"e", 2.5},
                       {"f", 18014398509481984.0},
                       {"g", json::array({1.0, json({{"h", 0.0}})})}};
  EXPECT_EQ(*CanonicalClaims(claims),
            R"({"a":5,"b":-3,"c":9007199254740992,"d":-9007199254740992,"e":2.5,)"
            R"("f":1.8014398509481984e+16,"g":[1,{"h":0}]})");
}

// Only a JSON object is accepted.
TEST(CanonicalClaimsTest, NonObjectIsRefused) {
  for (const json& value : {json(nullptr), json(1), json("x"), json::array(), json(true)}) {
    EXPECT_TRUE(FailsNaming(CanonicalClaims(value).status(), "claims")) << value;
  }
}

// Every reserved name is refused at the top level, and the message names it;
// the same names nested deeper are ordinary data.
TEST(CanonicalClaimsTest, ReservedTopLevelNamesAreRefused) {
  for (absl::string_view name : kReservedClaimNames) {
    const json claims = {{"tenant", "t1"}, {std::string(name), "x"}};
    EXPECT_TRUE(FailsNaming(CanonicalClaims(claims).status(), absl::StrCat("claims.", name)))
        << name;
    EXPECT_TRUE(CanonicalClaims({{"nested", {{std::string(name), "x"}}}}).ok()) << name;
  }
  // Near misses are not reserved.
  EXPECT_TRUE(CanonicalClaims({{"Sub", 1}, {"scopes", 1}, {"role", 1}, {"iss ", 1}}).ok());
}

// Nesting: 8 levels of objects or arrays (the top-level object is level 1)
// are accepted, 9 are refused.
TEST(CanonicalClaimsTest, DepthIsLimitedToEight) {
  for (bool arrays : {false, true}) {
    EXPECT_TRUE(CanonicalClaims({{"a", Nested(7, arrays)}}).ok()) << arrays;
    EXPECT_TRUE(FailsNaming(CanonicalClaims({{"a", Nested(8, arrays)}}).status(), "claims.a"))
        << arrays;
  }
  // Scalars do not count as a level; an empty container does.
  EXPECT_TRUE(CanonicalClaims({{"a", Nested(6, false)}}).ok());
  json deep = json::object();
  for (int i = 0; i < 7; ++i) deep = json({{"k", deep}});
  EXPECT_TRUE(CanonicalClaims(deep).ok());  // 8 levels, innermost {}.
  deep = json({{"k", deep}});
  EXPECT_TRUE(FailsNaming(CanonicalClaims(deep).status(), "nesting"));
}

// Member names at every depth are 1–64 bytes of valid UTF-8.
TEST(CanonicalClaimsTest, MemberNamesAreChecked) {
  EXPECT_TRUE(CanonicalClaims({{std::string(64, 'k'), 1}}).ok());
  EXPECT_TRUE(CanonicalClaims({{"a", {{std::string(64, 'k'), 1}}}}).ok());
  EXPECT_TRUE(CanonicalClaims({{"\xc3\xa9t\xc3\xa9", 1}}).ok());
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{std::string(65, 'k'), 1}}).status(), "claims"));
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"", 1}}).status(), "claims"));
  EXPECT_TRUE(
      FailsNaming(CanonicalClaims({{"a", {{std::string(65, 'k'), 1}}}}).status(), "claims.a"));
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"a", {{"b", {{"", 1}}}}}}).status(), "claims.a.b"));
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"bad\xff", 1}}).status(), "claims"));
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"x", json::array({json({{"\xc3", 1}})})}}).status(),
                          "claims.x[0]"));
}

// Strings must be valid UTF-8 and numbers finite; the message names the
// field, never the value.
TEST(CanonicalClaimsTest, BadValuesAreRefusedByField) {
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"a", {{"b", "secret\xff"}}}}).status(), "claims.a.b",
                          "secret"));
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"list", json::array({1, "ok", "x\xc0\xaf"})}}).status(),
                          "claims.list[2]"));
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    EXPECT_TRUE(FailsNaming(CanonicalClaims({{"n", bad}}).status(), "claims.n")) << bad;
  }
  EXPECT_TRUE(FailsNaming(CanonicalClaims({{"b", json::binary({1, 2})}}).status(), "claims.b"));
}

// The canonical text may be exactly max_claims_bytes long, not one more.
TEST(CanonicalClaimsTest, SizeIsLimited) {
  // {"a":"<n x>"} is n + 8 bytes.
  const auto of_size = [](size_t bytes) { return json({{"a", std::string(bytes - 8, 'x')}}); };
  ASSERT_EQ(CanonicalClaims(of_size(100))->size(), 100u);
  EXPECT_TRUE(CanonicalClaims(of_size(kDefaultMaxClaimsBytes)).ok());
  EXPECT_TRUE(
      FailsNaming(CanonicalClaims(of_size(kDefaultMaxClaimsBytes + 1)).status(), "claims", "xxxx"));
  const ContextLimits small{.max_claims_bytes = 256};
  EXPECT_TRUE(CanonicalClaims(of_size(256), small).ok());
  EXPECT_TRUE(FailsNaming(CanonicalClaims(of_size(257), small).status(), "256"));
  // The limit applies to the canonical form: whitespace in the input and
  // 5.0 written as 5 do not count.
  const json spaced = json::parse(R"({"a" :  5.0 })");
  EXPECT_TRUE(CanonicalClaims(spaced, ContextLimits{.max_claims_bytes = 7}).ok());
  EXPECT_FALSE(CanonicalClaims(spaced, ContextLimits{.max_claims_bytes = 6}).ok());
}

// --- NormalizeScopes ----------------------------------------------------------

// Valid scopes keep their order with duplicates dropped; none is fine.
TEST(NormalizeScopesTest, DropsDuplicatesKeepsOrder) {
  EXPECT_EQ(*NormalizeScopes({}, ErrorReason::INVALID_CLAIMS), std::vector<std::string>{});
  EXPECT_EQ(*NormalizeScopes({"write", "read:a", "write", "openid"}, ErrorReason::INVALID_CLAIMS),
            (std::vector<std::string>{"write", "read:a", "openid"}));
}

// 64 scopes are accepted, 65 refused (duplicates count before dropping).
TEST(NormalizeScopesTest, CountIsLimited) {
  std::vector<std::string> scopes;
  for (int i = 0; i < 64; ++i) scopes.push_back(absl::StrCat("s", i));
  EXPECT_TRUE(NormalizeScopes(scopes, ErrorReason::INVALID_CLAIMS).ok());
  scopes.push_back("s0");
  EXPECT_TRUE(FailsNaming(NormalizeScopes(scopes, ErrorReason::INVALID_CLAIMS).status(), "scopes"));
}

// Each scope is 1–128 bytes.
TEST(NormalizeScopesTest, LengthIsLimited) {
  EXPECT_TRUE(NormalizeScopes({std::string(128, 's')}, ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(NormalizeScopes({"s"}, ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(FailsNaming(
      NormalizeScopes({"ok", std::string(129, 's')}, ErrorReason::INVALID_CLAIMS).status(),
      "scopes[1]"));
  EXPECT_TRUE(
      FailsNaming(NormalizeScopes({""}, ErrorReason::INVALID_CLAIMS).status(), "scopes[0]"));
}

// Exactly %x21 / %x23-5B / %x5D-7E are scope characters.
TEST(NormalizeScopesTest, OnlyRfc6749Characters) {
  std::string all_valid;
  for (int c = 0x21; c <= 0x7E; ++c) {
    if (c != 0x22 && c != 0x5C) all_valid.push_back(static_cast<char>(c));
  }
  ASSERT_EQ(all_valid.size(), 92u);
  EXPECT_TRUE(NormalizeScopes({all_valid}, ErrorReason::INVALID_CLAIMS).ok());
  for (const std::string& bad :
       {"a b"s, "a\"b"s, "a\\b"s, "\x7F"s, "a\0b"s, "\t"s, "\xc3\xa9"s, "\x20"s, "\x80"s}) {
    EXPECT_TRUE(
        FailsNaming(NormalizeScopes({bad}, ErrorReason::INVALID_CLAIMS).status(), "scopes[0]"))
        << absl::CHexEscape(bad);
  }
}

// The caller chooses the reason and the field name (VerifyAccess's
// required_scopes are a bad request, not bad claims).
TEST(NormalizeScopesTest, ReasonAndFieldAreTheCallers) {
  const absl::Status status =
      NormalizeScopes({"a b"}, ErrorReason::INVALID_REQUEST, "required_scopes").status();
  EXPECT_TRUE(HasReason(status, ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(absl::StrContains(status.message(), "required_scopes[0]")) << status;
}

// --- NormalizeAmr -------------------------------------------------------------

// Up to 16 values of 1–64 bytes of printable UTF-8; duplicates dropped.
TEST(NormalizeAmrTest, RulesAndLimits) {
  EXPECT_EQ(*NormalizeAmr({}), std::vector<std::string>{});
  EXPECT_EQ(*NormalizeAmr({"pwd", "otp", "pwd", "m\xc3\xa9"}),
            (std::vector<std::string>{"pwd", "otp", "m\xc3\xa9"}));
  std::vector<std::string> values;
  for (int i = 0; i < 16; ++i) values.push_back(absl::StrCat("m", i));
  EXPECT_TRUE(NormalizeAmr(values).ok());
  values.push_back("pwd");
  EXPECT_TRUE(FailsNaming(NormalizeAmr(values).status(), "amr"));
  EXPECT_TRUE(NormalizeAmr({std::string(64, 'a')}).ok());
  EXPECT_TRUE(FailsNaming(NormalizeAmr({"pwd", std::string(65, 'a')}).status(), "amr[1]"));
  EXPECT_TRUE(FailsNaming(NormalizeAmr({""}).status(), "amr[0]"));
  for (const std::string& bad : {"a\nb"s, "\0"s, "\x7F"s, "\xc2\x85"s, "\xff"s, "\xed\xa0\x80"s}) {
    EXPECT_TRUE(FailsNaming(NormalizeAmr({bad}).status(), "amr[0]")) << absl::CHexEscape(bad);
  }
}

// --- ValidateAcr --------------------------------------------------------------

// Empty (none) up to 128 bytes of printable UTF-8; the reason and field are
// the caller's.
TEST(ValidateAcrTest, RulesAndLimits) {
  EXPECT_TRUE(ValidateAcr("", ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(ValidateAcr("urn:mace:incommon:iap:silver", ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(ValidateAcr(std::string(128, 'a'), ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(FailsNaming(ValidateAcr(std::string(129, 'a'), ErrorReason::INVALID_CLAIMS), "acr"));
  EXPECT_TRUE(FailsNaming(ValidateAcr("a\x01", ErrorReason::INVALID_CLAIMS), "acr"));
  EXPECT_TRUE(FailsNaming(ValidateAcr("\xc3", ErrorReason::INVALID_CLAIMS), "acr"));
  const absl::Status status =
      ValidateAcr("a\nb", ErrorReason::INVALID_REQUEST, "acceptable_acr[2]");
  EXPECT_TRUE(HasReason(status, ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(absl::StrContains(status.message(), "acceptable_acr[2]")) << status;
}

// --- NormalizeAuthTime --------------------------------------------------------

// Unset stays unset; from 1970 to now + skew is accepted, truncated to whole
// seconds; before 1970 or after now + skew is refused.
TEST(NormalizeAuthTimeTest, RangeAndTruncation) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const absl::Duration skew = absl::Seconds(30);
  EXPECT_EQ(*NormalizeAuthTime(std::nullopt, now, skew), std::nullopt);
  EXPECT_EQ(*NormalizeAuthTime(absl::UnixEpoch(), now, skew), absl::UnixEpoch());
  EXPECT_EQ(*NormalizeAuthTime(now - absl::Milliseconds(1500), now, skew), now - absl::Seconds(2));
  EXPECT_EQ(*NormalizeAuthTime(now + skew, now, skew), now + skew);
  EXPECT_TRUE(FailsNaming(NormalizeAuthTime(now + skew + absl::Nanoseconds(1), now, skew).status(),
                          "auth_time"));
  EXPECT_TRUE(
      FailsNaming(NormalizeAuthTime(absl::UnixEpoch() - absl::Nanoseconds(1), now, skew).status(),
                  "auth_time"));
  EXPECT_FALSE(NormalizeAuthTime(absl::InfiniteFuture(), now, skew).ok());
  EXPECT_FALSE(NormalizeAuthTime(absl::InfinitePast(), now, skew).ok());
  // A negative skew counts as zero.
  EXPECT_TRUE(NormalizeAuthTime(now, now, -skew).ok());
  EXPECT_FALSE(NormalizeAuthTime(now + absl::Seconds(1), now, -skew).ok());
}

// --- ValidateMetadata ---------------------------------------------------------

// Up to 16 keys of 1–64 bytes and values of up to 256 bytes, printable UTF-8.
TEST(ValidateMetadataTest, RulesAndLimits) {
  EXPECT_TRUE(ValidateMetadata({}).ok());
  EXPECT_TRUE(ValidateMetadata({{"device", "Zoë's phone"}, {"login_method", ""}}).ok());
  SessionMetadata many;
  for (int i = 0; i < 16; ++i) many[absl::StrCat("k", i)] = "v";
  EXPECT_TRUE(ValidateMetadata(many).ok());
  many["k16"] = "v";
  EXPECT_TRUE(FailsNaming(ValidateMetadata(many), "metadata"));
  EXPECT_TRUE(ValidateMetadata({{std::string(64, 'k'), std::string(256, 'v')}}).ok());
  EXPECT_TRUE(FailsNaming(ValidateMetadata({{std::string(65, 'k'), "v"}}), "metadata key"));
  EXPECT_TRUE(FailsNaming(ValidateMetadata({{"", "v"}}), "metadata key"));
  EXPECT_TRUE(FailsNaming(ValidateMetadata({{"device", std::string(257, 'v')}}), "metadata.device",
                          std::string(257, 'v')));
  EXPECT_TRUE(FailsNaming(ValidateMetadata({{"k\n", "v"}}), "metadata key"));
  EXPECT_TRUE(
      FailsNaming(ValidateMetadata({{"device", "secret\x1b[0m"}}), "metadata.device", "secret"));
  EXPECT_TRUE(FailsNaming(ValidateMetadata({{"device", "\xff"}}), "metadata.device"));
}

}  // namespace
}  // namespace token
