// The reasons are defined once, in proto/token/v1/error_reason.proto: each
// value's comment starts with the status code it travels with. This test
// reads those comments and holds the server's one reason → code switch to
// them, so the documentation and the code cannot drift.
#include "server/common/error_reason.h"

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace token {
namespace {

// DocumentedCodes returns value name → the code word its comment starts with
// ("INVALID_ARGUMENT"), read from error_reason.proto.
std::map<std::string, std::string> DocumentedCodes() {
  std::ifstream file(std::string(TOKEN_SOURCE_DIR) + "/proto/token/v1/error_reason.proto");
  std::map<std::string, std::string> codes;
  std::string line;
  std::string first_comment;  // First comment line of the current value's block.
  bool in_block = false;
  while (std::getline(file, line)) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(text, "//")) {
      if (!in_block) first_comment = std::string(absl::StripAsciiWhitespace(text.substr(2)));
      in_block = true;
      continue;
    }
    in_block = false;
    const std::vector<std::string> parts = absl::StrSplit(text, " = ");
    if (parts.size() == 2 && absl::EndsWith(parts[1], ";")) {
      const std::vector<std::string> words = absl::StrSplit(first_comment, ':');
      codes[parts[0]] = words.size() > 1 ? words[0] : "";
    }
  }
  return codes;
}

std::vector<ErrorReason> AllReasons() {
  std::vector<ErrorReason> reasons;
  const auto* descriptor = v1::ErrorReason_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const int number = descriptor->value(i)->number();
    if (number != v1::ERROR_REASON_UNSPECIFIED) reasons.push_back(static_cast<ErrorReason>(number));
  }
  return reasons;
}

// Every reason travels with the code its documentation names.
TEST(ErrorReasonTest, EachReasonHasItsDocumentedCode) {
  const std::map<std::string, std::string> documented = DocumentedCodes();
  ASSERT_FALSE(documented.empty()) << "could not read error_reason.proto";
  const std::vector<ErrorReason> reasons = AllReasons();
  ASSERT_GE(reasons.size(), 22u);
  for (ErrorReason reason : reasons) {
    const std::string name(ErrorReasonName(reason));
    ASSERT_EQ(documented.count(name), 1u) << name << " not found in error_reason.proto";
    EXPECT_EQ(absl::StatusCodeToString(ErrorReasonCode(reason)), documented.at(name)) << name;
    EXPECT_NE(ErrorReasonCode(reason), absl::StatusCode::kUnknown) << name;
  }
}

// The wire strings of today's clients stay exactly as they were.
TEST(ErrorReasonTest, WireStringsAreTheValueNames) {
  EXPECT_EQ(ErrorReasonName(ErrorReason::REFRESH_TOKEN_REUSED), "REFRESH_TOKEN_REUSED");
  EXPECT_EQ(ErrorReasonName(ErrorReason::TOKEN_EXPIRED), "TOKEN_EXPIRED");
  EXPECT_EQ(ErrorDomain(), "token.v1");
}

// MakeError keeps the message, uses the reason's code, and ReasonOf reads the reason back.
TEST(ErrorReasonTest, MakeErrorRoundTripsThroughReasonOf) {
  for (ErrorReason reason : AllReasons()) {
    const absl::Status status = MakeError(reason, "something went wrong");
    EXPECT_EQ(status.code(), ErrorReasonCode(reason)) << ErrorReasonName(reason);
    EXPECT_EQ(status.message(), "something went wrong");
    EXPECT_EQ(ReasonOf(status), reason) << ErrorReasonName(reason);
  }
}

// The reason survives copying the status, as it does when passed up the stack.
TEST(ErrorReasonTest, CopiedStatusKeepsReason) {
  const absl::Status original = MakeError(ErrorReason::TOKEN_EXPIRED, "token has expired");
  const absl::Status copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(ReasonOf(copy), ErrorReason::TOKEN_EXPIRED);
}

// A plain status, an OK status and a status with a foreign or corrupt payload carry none.
TEST(ErrorReasonTest, PlainStatusHasNoReason) {
  EXPECT_EQ(ReasonOf(absl::UnauthenticatedError("no")), std::nullopt);
  EXPECT_EQ(ReasonOf(absl::OkStatus()), std::nullopt);
  absl::Status foreign = absl::InternalError("x");
  foreign.SetPayload("type.googleapis.com/some.other.Payload", absl::Cord("12"));
  EXPECT_EQ(ReasonOf(foreign), std::nullopt);
  for (const char* bad : {"TOKEN_EXPIRED", "0", "9999", "-1", ""}) {
    absl::Status corrupt = absl::InternalError("x");
    corrupt.SetPayload("type.googleapis.com/token.v1.ErrorReason", absl::Cord(bad));
    EXPECT_EQ(ReasonOf(corrupt), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace token
