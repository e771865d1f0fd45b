#include "server/common/base64url.h"

#include <string>

#include "gtest/gtest.h"
#include "server/common/random.h"

namespace token {
namespace {

// Encoding the RFC 4648 section 10 test vectors gives their unpadded form.
TEST(Base64UrlTest, EncodeRfc4648VectorsMatch) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
}

// Decoding the unpadded RFC 4648 vectors gives the original bytes.
TEST(Base64UrlTest, DecodeRfc4648VectorsMatch) {
  EXPECT_EQ(Base64UrlDecode(""), std::string(""));
  EXPECT_EQ(Base64UrlDecode("Zg"), std::string("f"));
  EXPECT_EQ(Base64UrlDecode("Zm8"), std::string("fo"));
  EXPECT_EQ(Base64UrlDecode("Zm9v"), std::string("foo"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYg"), std::string("foob"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE"), std::string("fooba"));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), std::string("foobar"));
}

// The URL-safe alphabet uses '-' and '_' where standard base64 has '+' and '/'.
TEST(Base64UrlTest, UrlSafeAlphabetRoundTrips) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), bytes);
}

// Padding, in any amount, is rejected.
TEST(Base64UrlTest, DecodePaddingFails) {
  EXPECT_FALSE(Base64UrlDecode("Zg=="));
  EXPECT_FALSE(Base64UrlDecode("Zg="));
  EXPECT_FALSE(Base64UrlDecode("Zm8="));
  EXPECT_FALSE(Base64UrlDecode("===="));
}

// Whitespace anywhere is rejected.
TEST(Base64UrlTest, DecodeWhitespaceFails) {
  EXPECT_FALSE(Base64UrlDecode(" Zm9v"));
  EXPECT_FALSE(Base64UrlDecode("Zm 9v"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\n"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v\t"));
  EXPECT_FALSE(Base64UrlDecode("Zm9\r\nv"));
}

// The standard alphabet's '+' and '/' and other symbols are rejected.
TEST(Base64UrlTest, DecodeNonUrlSafeCharactersFail) {
  EXPECT_FALSE(Base64UrlDecode("+_-_"));
  EXPECT_FALSE(Base64UrlDecode("-/-_"));
  EXPECT_FALSE(Base64UrlDecode("+/+/"));
  EXPECT_FALSE(Base64UrlDecode("Zm9v."));
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm\0v", 4)));
  EXPECT_FALSE(Base64UrlDecode("Zm9\xc3\xa9"));
}

// A length of 1 mod 4 cannot come from any byte string and is rejected.
TEST(Base64UrlTest, DecodeLengthOneModFourFails) {
  EXPECT_FALSE(Base64UrlDecode("Z"));
  EXPECT_FALSE(Base64UrlDecode("Zm9vY"));
  EXPECT_FALSE(Base64UrlDecode("Zm9vYmFyZ"));
}

// Non-zero unused trailing bits are rejected, so each value has one spelling.
TEST(Base64UrlTest, DecodeNonZeroTrailingBitsFails) {
  EXPECT_FALSE(Base64UrlDecode("Zh"));   // "f" is "Zg".
  EXPECT_FALSE(Base64UrlDecode("Zm9"));  // "fo" is "Zm8".
  EXPECT_FALSE(Base64UrlDecode("Zm9vYh"));
  EXPECT_TRUE(Base64UrlDecode("Zg"));
}

// Random byte strings of every length up to 100 survive encode then decode.
TEST(Base64UrlTest, RandomBytesRoundTrip) {
  for (size_t len = 0; len <= 100; ++len) {
    const std::string bytes = RandomBytes(len);
    const std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(encoded), bytes) << "length " << len;
  }
}

}  // namespace
}  // namespace token
