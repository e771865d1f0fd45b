#include "server/session/page_token.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/base64url.h"
#include "server/common/random.h"

namespace token {
namespace {

SessionCursor Cursor() {
  return SessionCursor{absl::FromUnixMicros(1700000000123456), UuidToString(NewUuidV4())};
}

// A token decodes, for the same subject, to exactly the cursor it encodes.
TEST(PageTokenTest, RoundTripPreservesCursor) {
  const SessionCursor cursor = Cursor();
  const std::string token = EncodePageToken("user-1", cursor);
  const std::optional<SessionCursor> decoded = DecodePageToken("user-1", token);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->created_at, cursor.created_at);
  EXPECT_EQ(decoded->session_id, cursor.session_id);
}

// Times before 1970 and at microsecond precision survive the round trip.
TEST(PageTokenTest, RoundTripEdgeTimesPreserved) {
  for (absl::Time t : {absl::UnixEpoch(), absl::FromUnixMicros(-1), absl::FromUnixMicros(1),
                       absl::FromUnixSeconds(253402300799)}) {
    const SessionCursor cursor{t, "00000000-0000-4000-8000-000000000000"};
    const std::optional<SessionCursor> decoded = DecodePageToken("s", EncodePageToken("s", cursor));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->created_at, t);
    EXPECT_EQ(decoded->session_id, cursor.session_id);
  }
}

// The token is URL-safe text (base64url, no padding).
TEST(PageTokenTest, EncodeIsUrlSafe) {
  const std::string token = EncodePageToken("user-1", Cursor());
  EXPECT_FALSE(token.empty());
  EXPECT_TRUE(Base64UrlDecode(token).has_value());
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
}

// A token issued for one subject is refused for another.
TEST(PageTokenTest, OtherSubjectReturnsNullopt) {
  const std::string token = EncodePageToken("alice", Cursor());
  EXPECT_FALSE(DecodePageToken("bob", token).has_value());
  EXPECT_FALSE(DecodePageToken("alice ", token).has_value());
  EXPECT_FALSE(DecodePageToken("Alice", token).has_value());
  EXPECT_TRUE(DecodePageToken("alice", token).has_value());
}

// Garbage, truncated, extended, bit-flipped or empty tokens are refused.
TEST(PageTokenTest, GarbageReturnsNullopt) {
  const std::string token = EncodePageToken("alice", Cursor());
  EXPECT_FALSE(DecodePageToken("alice", "").has_value());
  EXPECT_FALSE(DecodePageToken("alice", "not a token").has_value());
  EXPECT_FALSE(DecodePageToken("alice", "!!!!").has_value());
  EXPECT_FALSE(DecodePageToken("alice", token + "=").has_value());
  EXPECT_FALSE(DecodePageToken("alice", token.substr(0, token.size() - 1)).has_value());
  EXPECT_FALSE(DecodePageToken("alice", token.substr(0, token.size() - 4)).has_value());
  EXPECT_FALSE(DecodePageToken("alice", token + "AAAA").has_value());
  EXPECT_FALSE(DecodePageToken("alice", Base64UrlEncode(std::string(32, '\0'))).has_value());
  // Flipping any character of the subject tag (the last 8 bytes) is refused.
  for (size_t i = 32; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(DecodePageToken("alice", tampered).has_value()) << i;
  }
}

// Input longer than the cap is refused before decoding.
TEST(PageTokenTest, TooLongReturnsNullopt) {
  EXPECT_FALSE(DecodePageToken("alice", std::string(65, 'A')).has_value());
  EXPECT_FALSE(DecodePageToken("alice", std::string(1 << 20, 'A')).has_value());
}

}  // namespace
}  // namespace token
