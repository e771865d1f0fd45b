#include "server/keys/jwk.h"

#include <string>

#include "gtest/gtest.h"

namespace token {
namespace {

// The RSA public key of RFC 7638 section 3.1.
constexpr char kRfc7638Modulus[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjB"
    "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8"
    "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
    "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

// The thumbprint of the RFC 7638 example key is the one the RFC publishes.
TEST(JwkTest, ThumbprintOfRfc7638ExampleMatches) {
  EXPECT_EQ(RsaJwkThumbprint(kRfc7638Modulus, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

// A different exponent or modulus gives a different thumbprint.
TEST(JwkTest, ThumbprintDependsOnBothMembers) {
  const std::string base = RsaJwkThumbprint(kRfc7638Modulus, "AQAB");
  EXPECT_NE(RsaJwkThumbprint(kRfc7638Modulus, "Aw"), base);
  std::string other_modulus = kRfc7638Modulus;
  other_modulus[0] = '1';
  EXPECT_NE(RsaJwkThumbprint(other_modulus, "AQAB"), base);
}

// A thumbprint is 43 base64url characters (32 bytes, unpadded).
TEST(JwkTest, ThumbprintIsUnpaddedSha256) {
  const std::string kid = RsaJwkThumbprint(kRfc7638Modulus, "AQAB");
  EXPECT_EQ(kid.size(), 43u);
  EXPECT_EQ(
      kid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

// The public JWK has exactly the six public members with the given values.
TEST(JwkTest, PublicJwkHasExactlyPublicMembers) {
  const nlohmann::json jwk = RsaPublicJwk("kid-1", kRfc7638Modulus, "AQAB");
  EXPECT_EQ(jwk,
            nlohmann::json::parse(R"({"kty":"RSA","use":"sig","alg":"RS256","kid":"kid-1","n":")" +
                                  std::string(kRfc7638Modulus) + R"(","e":"AQAB"})"));
}

}  // namespace
}  // namespace token
