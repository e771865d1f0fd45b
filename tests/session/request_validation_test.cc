#include "server/session/request_validation.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "tests/common/status_matchers.h"

namespace token {
namespace {

using std::string_literals::operator""s;
using test::HasReason;

// Strings that are not well-formed UTF-8.
const std::vector<std::string>& InvalidUtf8() {
  static const std::vector<std::string> values = {
      "\xC0\xAF",              // Overlong '/' (2 bytes).
      "\xC1\xBF",              // Overlong U+007F.
      "\xE0\x80\xAF",          // Overlong '/' (3 bytes).
      "\xF0\x80\x80\xAF",      // Overlong '/' (4 bytes).
      "\xED\xA0\x80",          // U+D800, a high surrogate.
      "\xED\xBF\xBF",          // U+DFFF, a low surrogate.
      "a\xE2\x82",             // Truncated 3-byte sequence.
      "\xF0\x9F\x98",          // Truncated 4-byte sequence.
      "\xC3",                  // Lead byte at the end.
      "\xF4\x90\x80\x80",      // U+110000, past U+10FFFF.
      "\xF7\xBF\xBF\xBF",      // U+1FFFFF.
      "\x80",                  // Lone continuation byte.
      "ab\xBF",                // Continuation byte after ASCII.
      "\xC3\x28",              // Lead byte followed by a non-continuation.
      "\xF8\x88\x80\x80\x80",  // 5-byte form.
      "\xFE",                  // Never valid.
      "\xFF",                  // Never valid.
  };
  return values;
}

// Strings with a control character (C0, DEL or C1).
const std::vector<std::string>& ControlCharacters() {
  static const std::vector<std::string> values = {
      "a\0b"s,        // NUL inside.
      "\0"s,          // Only NUL.
      "line\n",       // Line feed.
      "a\rb",         // Carriage return.
      "tab\there",    // Tab.
      "\x1B[31m",     // Escape.
      "del\x7F",      // DEL.
      "nel\xC2\x85",  // U+0085 NEXT LINE.
      "\xC2\x80",     // U+0080.
      "\xC2\x9F",     // U+009F.
  };
  return values;
}

// --- UTF-8 ---------------------------------------------------------------

// Malformed sequences are not valid UTF-8.
TEST(RequestValidationTest, IsValidUtf8MalformedIsFalse) {
  for (const std::string& s : InvalidUtf8()) {
    EXPECT_FALSE(IsValidUtf8(s)) << absl::CEscape(s);
    EXPECT_FALSE(IsPrintableUtf8(s)) << absl::CEscape(s);
  }
}

// Boundary code points of each sequence length are valid.
TEST(RequestValidationTest, IsValidUtf8BoundaryCodePointsAreTrue) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\x7F"));              // U+007F (1 byte max).
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080 (2 byte min).
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF.
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800.
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below surrogates.
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, just above surrogates.
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF.
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000.
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF.
}

// Control characters are valid UTF-8 but not printable.
TEST(RequestValidationTest, IsPrintableUtf8ControlCharactersIsFalse) {
  for (const std::string& s : ControlCharacters()) {
    EXPECT_TRUE(IsValidUtf8(s)) << absl::CEscape(s);
    EXPECT_FALSE(IsPrintableUtf8(s)) << absl::CEscape(s);
  }
  EXPECT_TRUE(IsPrintableUtf8("\xC2\xA0"));  // U+00A0 NO-BREAK SPACE is not a control.
  EXPECT_TRUE(IsPrintableUtf8(" ~"));
}

// --- Subject ---------------------------------------------------------------

// 1 and 255 bytes are accepted.
TEST(RequestValidationTest, SubjectOneAnd255BytesSucceed) {
  EXPECT_TRUE(ValidateSubject("a").ok());
  EXPECT_TRUE(ValidateSubject(std::string(255, 'a')).ok());
}

// Empty and 256-byte subjects fail with INVALID_SUBJECT.
TEST(RequestValidationTest, SubjectEmptyOr256BytesFailsInvalidSubject) {
  EXPECT_TRUE(HasReason(ValidateSubject(""), ErrorReason::INVALID_SUBJECT));
  EXPECT_TRUE(HasReason(ValidateSubject(std::string(256, 'a')), ErrorReason::INVALID_SUBJECT));
  EXPECT_TRUE(HasReason(ValidateSubject(std::string(100000, 'a')), ErrorReason::INVALID_SUBJECT));
}

// Multibyte UTF-8 is accepted, and the limit counts bytes, not characters.
TEST(RequestValidationTest, SubjectMultibyteSucceedsWithinByteLimit) {
  EXPECT_TRUE(ValidateSubject("Jos\xC3\xA9").ok());               // José
  EXPECT_TRUE(ValidateSubject("\xE7\x94\xA8\xE6\x88\xB7").ok());  // 用户
  EXPECT_TRUE(ValidateSubject("\xF0\x9F\x98\x80 user").ok());     // 😀 user
  std::string cjk_255;
  for (int i = 0; i < 85; ++i) cjk_255 += "\xE7\x94\xA8";  // 85 × 3 = 255 bytes.
  EXPECT_TRUE(ValidateSubject(cjk_255).ok());
  std::string emoji_256;
  for (int i = 0; i < 64; ++i) emoji_256 += "\xF0\x9F\x98\x80";  // 64 × 4 = 256 bytes.
  EXPECT_TRUE(HasReason(ValidateSubject(emoji_256), ErrorReason::INVALID_SUBJECT));
}

// Overlong, surrogate, truncated and out-of-range sequences fail with INVALID_SUBJECT.
TEST(RequestValidationTest, SubjectInvalidUtf8FailsInvalidSubject) {
  for (const std::string& s : InvalidUtf8()) {
    EXPECT_TRUE(HasReason(ValidateSubject(absl::StrCat("user", s)), ErrorReason::INVALID_SUBJECT))
        << absl::CEscape(s);
  }
}

// NUL, newline, DEL, U+0085 and other controls fail with INVALID_SUBJECT.
TEST(RequestValidationTest, SubjectControlCharacterFailsInvalidSubject) {
  for (const std::string& s : ControlCharacters()) {
    EXPECT_TRUE(HasReason(ValidateSubject(s), ErrorReason::INVALID_SUBJECT)) << absl::CEscape(s);
  }
}

// The error message names the rule but never echoes the value.
TEST(RequestValidationTest, SubjectErrorMessageOmitsValue) {
  const std::string secretish = "sk_live_" + std::string(250, 'Z');
  const absl::Status status = ValidateSubject(secretish);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().find("sk_live_"), absl::string_view::npos) << status;
  const absl::Status control = ValidateSubject("evil\nvalue");
  ASSERT_FALSE(control.ok());
  EXPECT_EQ(control.message().find("evil"), absl::string_view::npos) << control;
}

// --- Audience --------------------------------------------------------------

// Audience: 1–255 bytes of printable UTF-8, else the given reason.
TEST(RequestValidationTest, AudienceBoundsFailWithGivenReason) {
  EXPECT_TRUE(ValidateAudience("a", ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(ValidateAudience(std::string(255, 'a'), ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(
      HasReason(ValidateAudience("", ErrorReason::INVALID_CLAIMS), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(ValidateAudience(std::string(256, 'a'), ErrorReason::INVALID_REQUEST),
                        ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(ValidateAudience("a\nb", ErrorReason::INVALID_REQUEST),
                        ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(ValidateAudience("\xC0\xAF", ErrorReason::INVALID_CLAIMS),
                        ErrorReason::INVALID_CLAIMS));
}

// --- Roles -------------------------------------------------------------------

std::vector<std::string> NumberedRoles(int n) {
  std::vector<std::string> roles;
  for (int i = 0; i < n; ++i) roles.push_back(absl::StrCat("role-", i));
  return roles;
}

// No roles at all is fine.
TEST(RequestValidationTest, RolesEmptyListSucceeds) {
  absl::StatusOr<std::vector<std::string>> roles = NormalizeRoles({}, ErrorReason::INVALID_CLAIMS);
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_TRUE(roles->empty());
}

// 64 distinct roles are accepted and returned unchanged.
TEST(RequestValidationTest, Roles64Succeed) {
  const std::vector<std::string> input = NumberedRoles(64);
  absl::StatusOr<std::vector<std::string>> roles =
      NormalizeRoles(input, ErrorReason::INVALID_CLAIMS);
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_EQ(*roles, input);
}

// 65 roles fail with the given reason.
TEST(RequestValidationTest, Roles65FailInvalidClaims) {
  EXPECT_TRUE(HasReason(NormalizeRoles(NumberedRoles(65), ErrorReason::INVALID_CLAIMS).status(),
                        ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(NormalizeRoles(NumberedRoles(65), ErrorReason::INVALID_REQUEST).status(),
                        ErrorReason::INVALID_REQUEST));
}

// An empty role fails with the given reason.
TEST(RequestValidationTest, RolesEmptyRoleFailsInvalidClaims) {
  EXPECT_TRUE(HasReason(NormalizeRoles({"admin", ""}, ErrorReason::INVALID_CLAIMS).status(),
                        ErrorReason::INVALID_CLAIMS));
}

// A role of 128 bytes is accepted, 129 bytes fails.
TEST(RequestValidationTest, Roles129BytesFailsInvalidClaims) {
  EXPECT_TRUE(NormalizeRoles({std::string(128, 'r')}, ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(HasReason(
      NormalizeRoles({"admin", std::string(129, 'r')}, ErrorReason::INVALID_CLAIMS).status(),
      ErrorReason::INVALID_CLAIMS));
}

// Roles with invalid UTF-8 or control characters fail with the given reason.
TEST(RequestValidationTest, RolesBadTextFailsInvalidClaims) {
  for (const std::string& s : InvalidUtf8()) {
    EXPECT_TRUE(HasReason(NormalizeRoles({s}, ErrorReason::INVALID_CLAIMS).status(),
                          ErrorReason::INVALID_CLAIMS))
        << absl::CEscape(s);
  }
  for (const std::string& s : ControlCharacters()) {
    EXPECT_TRUE(HasReason(NormalizeRoles({s}, ErrorReason::INVALID_CLAIMS).status(),
                          ErrorReason::INVALID_CLAIMS))
        << absl::CEscape(s);
  }
}

// Duplicates are dropped; the first occurrence keeps its position.
TEST(RequestValidationTest, RolesDuplicatesDroppedKeepingOrder) {
  absl::StatusOr<std::vector<std::string>> roles =
      NormalizeRoles({"b", "a", "b", "c", "a", "b"}, ErrorReason::INVALID_CLAIMS);
  ASSERT_TRUE(roles.ok()) << roles.status();
  EXPECT_EQ(*roles, (std::vector<std::string>{"b", "a", "c"}));
}

// --- Client metadata -------------------------------------------------------

ClientMetadata Client(std::string user_agent, std::string ip) {
  return ClientMetadata{std::move(user_agent), std::move(ip)};
}

// Empty metadata is accepted.
TEST(RequestValidationTest, ClientEmptySucceeds) {
  EXPECT_TRUE(ValidateClient({}, ErrorReason::INVALID_CLAIMS).ok());
}

// IPv4 and IPv6 literals are accepted.
TEST(RequestValidationTest, ClientIpv4AndIpv6Succeed) {
  for (const char* ip :
       {"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::1", "::", "fe80::1",
        "::ffff:192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        "2001:0db8:0000:0000:0000:0000:0000:0001"}) {
    EXPECT_TRUE(ValidateClient(Client("", ip), ErrorReason::INVALID_CLAIMS).ok()) << ip;
  }
}

// An IP with a NUL and trailing garbage fails (c_str() must not cut it short).
TEST(RequestValidationTest, ClientIpWithNulFailsInvalidClaims) {
  EXPECT_TRUE(HasReason(ValidateClient(Client("", "1.2.3.4\0x"s), ErrorReason::INVALID_CLAIMS),
                        ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(ValidateClient(Client("", "::1\0"s), ErrorReason::INVALID_CLAIMS),
                        ErrorReason::INVALID_CLAIMS));
}

// Anything that is not an IP literal fails with the given reason.
TEST(RequestValidationTest, ClientNotAnIpFailsInvalidClaims) {
  for (const char* ip : {"not-an-ip", "localhost", "1.2.3.4 ", " 1.2.3.4", "256.1.1.1", "1.2.3",
                         "1.2.3.4:80", "[::1]", "fe80::1%eth0", "2001:db8:::1", "1.2.3.4/24"}) {
    EXPECT_TRUE(HasReason(ValidateClient(Client("", ip), ErrorReason::INVALID_CLAIMS),
                          ErrorReason::INVALID_CLAIMS))
        << ip;
  }
  EXPECT_TRUE(
      HasReason(ValidateClient(Client("", std::string(100, '1')), ErrorReason::INVALID_REQUEST),
                ErrorReason::INVALID_REQUEST));
}

// A user agent of 512 bytes is accepted, 513 fails.
TEST(RequestValidationTest, ClientUserAgent513BytesFailsInvalidClaims) {
  EXPECT_TRUE(
      ValidateClient(Client(std::string(512, 'u'), "::1"), ErrorReason::INVALID_CLAIMS).ok());
  EXPECT_TRUE(
      HasReason(ValidateClient(Client(std::string(513, 'u'), "::1"), ErrorReason::INVALID_CLAIMS),
                ErrorReason::INVALID_CLAIMS));
}

// A user agent with invalid UTF-8 or a control character fails.
TEST(RequestValidationTest, ClientUserAgentBadTextFailsInvalidClaims) {
  EXPECT_TRUE(HasReason(ValidateClient(Client("Mozilla\xC0\xAF", ""), ErrorReason::INVALID_CLAIMS),
                        ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(ValidateClient(Client("Mozilla\r\nX: y", ""), ErrorReason::INVALID_CLAIMS),
                        ErrorReason::INVALID_CLAIMS));
}

// --- Revoke reason -----------------------------------------------------------

// Empty and 256-byte reasons are accepted; 257 bytes fail with INVALID_REQUEST.
TEST(RequestValidationTest, RevokeReason257BytesFailsInvalidRequest) {
  EXPECT_TRUE(ValidateRevokeReason("").ok());
  EXPECT_TRUE(ValidateRevokeReason(std::string(256, 'r')).ok());
  EXPECT_TRUE(HasReason(ValidateRevokeReason(std::string(257, 'r')), ErrorReason::INVALID_REQUEST));
}

// A revoke reason with bad text fails with INVALID_REQUEST.
TEST(RequestValidationTest, RevokeReasonBadTextFailsInvalidRequest) {
  EXPECT_TRUE(HasReason(ValidateRevokeReason("logout\n"), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(ValidateRevokeReason("\xED\xA0\x80"), ErrorReason::INVALID_REQUEST));
}

}  // namespace
}  // namespace token
