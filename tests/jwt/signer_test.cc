#include "server/jwt/signer.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "tests/jwt/test_common.h"

namespace token {
namespace {

using test::TestClaims;
using test::TestKey;

// Parts splits a compact JWS into its three decoded segments.
std::vector<std::string> Parts(const std::string& token) {
  std::vector<std::string> parts;
  for (absl::string_view segment : absl::StrSplit(token, '.')) {
    parts.push_back(Base64UrlDecode(segment).value_or("<bad base64url>"));
  }
  return parts;
}

// The header is exactly {"alg":"RS256","typ":"at+jwt","kid":<kid>}, byte for byte.
TEST(SignerTest, HeaderIsExactlyAlgTypKid) {
  auto token = SignAccessToken(TestClaims(), TestKey());
  ASSERT_TRUE(token.ok()) << token.status();
  const std::vector<std::string> parts = Parts(*token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], R"({"alg":"RS256","typ":"at+jwt","kid":")" + TestKey().kid() + "\"}");
}

// The payload holds exactly the nine claims, times as integer seconds.
TEST(SignerTest, PayloadHasAllClaimsWithIntegerTimes) {
  auto token = SignAccessToken(TestClaims(), TestKey());
  ASSERT_TRUE(token.ok()) << token.status();
  const nlohmann::json payload = nlohmann::json::parse(Parts(*token)[1], nullptr, false);
  ASSERT_TRUE(payload.is_object());
  EXPECT_EQ(payload, test::TestPayload());
  for (const char* name : {"iat", "nbf", "exp"}) {
    EXPECT_TRUE(payload[name].is_number_integer()) << name;
  }
}

// The signature is 256 bytes and verifies as RS256 over header.payload with the public key.
TEST(SignerTest, SignatureVerifiesWithPublicKey) {
  auto token = SignAccessToken(TestClaims(), TestKey());
  ASSERT_TRUE(token.ok());
  const size_t dot2 = token->rfind('.');
  const std::string signature = Parts(*token)[2];
  ASSERT_EQ(signature.size(), 256u);
  // Verify with a key rebuilt from the public half only, as a JWKS consumer would.
  const std::string der = test::PublicKeyDer(TestKey());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyPtr public_key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(public_key, nullptr);
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(token->data()), dot2),
            1);
}

// RS256 (PKCS#1 v1.5) is deterministic: the same claims give the same token.
TEST(SignerTest, SameClaimsGiveSameToken) {
  EXPECT_EQ(*SignAccessToken(TestClaims(), TestKey()), *SignAccessToken(TestClaims(), TestKey()));
}

// Sub-second parts of the times are truncated to whole seconds.
TEST(SignerTest, SubSecondTimesAreTruncated) {
  AccessClaims claims = TestClaims();
  claims.expires_at += absl::Milliseconds(999);
  const nlohmann::json payload =
      nlohmann::json::parse(Parts(*SignAccessToken(claims, TestKey()))[1], nullptr, false);
  EXPECT_EQ(payload["exp"], absl::ToUnixSeconds(TestClaims().expires_at));
}

// No roles is written as an empty array, not omitted or null.
TEST(SignerTest, EmptyRolesIsEmptyArray) {
  AccessClaims claims = TestClaims();
  claims.roles.clear();
  const nlohmann::json payload =
      nlohmann::json::parse(Parts(*SignAccessToken(claims, TestKey()))[1], nullptr, false);
  EXPECT_EQ(payload["roles"], nlohmann::json::array());
}

// Non-ASCII UTF-8 and JSON metacharacters are escaped correctly and survive.
TEST(SignerTest, Utf8AndQuotesSurvive) {
  AccessClaims claims = TestClaims();
  claims.subject = "Zo\xc3\xab \"quoted\" \\ \xf0\x9f\x8e\x89";
  claims.roles = {"a\"b", ""};
  const nlohmann::json payload =
      nlohmann::json::parse(Parts(*SignAccessToken(claims, TestKey()))[1], nullptr, false);
  ASSERT_TRUE(payload.is_object());
  EXPECT_EQ(payload["sub"], claims.subject);
  EXPECT_EQ(payload["roles"], nlohmann::json(claims.roles));
}

// A claim that is not valid UTF-8 is refused instead of being signed.
TEST(SignerTest, InvalidUtf8ClaimFails) {
  AccessClaims claims = TestClaims();
  claims.subject = "bad\xff";
  EXPECT_EQ(SignAccessToken(claims, TestKey()).status().code(), absl::StatusCode::kInvalidArgument);
  claims = TestClaims();
  claims.roles = {"\xc3"};
  EXPECT_EQ(SignAccessToken(claims, TestKey()).status().code(), absl::StatusCode::kInvalidArgument);
}

// ContextClaims: TestClaims() with every context claim set.
AccessClaims ContextClaims() {
  AccessClaims claims = TestClaims();
  claims.context.claims =
      R"({"flags":[1,2.5,"x"],"n":5,"org":{"id":9007199254740992},"tenant":"t1"})";
  claims.context.scopes = {"read:a", "write"};
  claims.context.auth_time = test::kNow - absl::Minutes(3) + absl::Milliseconds(700);
  claims.context.amr = {"pwd", "otp"};
  claims.context.acr = "urn:example:loa:2";
  return claims;
}

// The context becomes scope (space-joined), auth_time (integer seconds,
// truncated), amr, acr and the custom claims as top-level members, with
// integers kept integers; nothing else is added.
TEST(SignerTest, ContextClaimsAreWritten) {
  auto token = SignAccessToken(ContextClaims(), TestKey());
  ASSERT_TRUE(token.ok()) << token.status();
  const nlohmann::json payload = nlohmann::json::parse(Parts(*token)[1], nullptr, false);
  ASSERT_TRUE(payload.is_object());
  nlohmann::json expected = test::TestPayload();
  expected["scope"] = "read:a write";
  expected["auth_time"] = absl::ToUnixSeconds(test::kNow - absl::Minutes(3));
  expected["amr"] = {"pwd", "otp"};
  expected["acr"] = "urn:example:loa:2";
  expected["flags"] = nlohmann::json::array({1, 2.5, "x"});
  expected["n"] = 5;
  expected["org"] = {{"id", 9007199254740992}};
  expected["tenant"] = "t1";
  EXPECT_EQ(payload, expected);
  EXPECT_TRUE(payload["auth_time"].is_number_integer());
  EXPECT_TRUE(payload["n"].is_number_integer());
  EXPECT_TRUE(payload["org"]["id"].is_number_integer());
}

// An empty context ("{}" or "" claims, no scopes, no auth_time, no amr, no
// acr) adds no member at all: the payload is that of the previous release.
TEST(SignerTest, EmptyContextAddsNothing) {
  for (const char* custom : {"{}", "", "{ }"}) {
    AccessClaims claims = TestClaims();
    claims.context.claims = custom;
    auto token = SignAccessToken(claims, TestKey());
    ASSERT_TRUE(token.ok()) << token.status();
    const nlohmann::json payload = nlohmann::json::parse(Parts(*token)[1], nullptr, false);
    EXPECT_EQ(payload, test::TestPayload()) << custom;
  }
}

// The custom claims are spliced as text in front of the service's members,
// so even unvalidated claims naming a reserved member cannot override it for
// a parser where the last duplicate wins.
TEST(SignerTest, CustomClaimsCannotOverrideServiceClaims) {
  AccessClaims claims = TestClaims();
  claims.context.claims = R"({"roles":["root"],"sub":"someone-else","x":1})";
  auto token = SignAccessToken(claims, TestKey());
  ASSERT_TRUE(token.ok()) << token.status();
  const nlohmann::json payload = nlohmann::json::parse(Parts(*token)[1], nullptr, false);
  ASSERT_TRUE(payload.is_object());
  EXPECT_EQ(payload["sub"], TestClaims().subject);
  EXPECT_EQ(payload["roles"], nlohmann::json(TestClaims().roles));
  EXPECT_EQ(payload["x"], 1);
}

// Custom claims text that is not enclosed in braces is refused.
TEST(SignerTest, NonObjectCustomClaimsFail) {
  for (const char* custom : {"[1]", "x", "{", "}", "\"{}\"", "{}x"}) {
    AccessClaims claims = TestClaims();
    claims.context.claims = custom;
    EXPECT_EQ(SignAccessToken(claims, TestKey()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << custom;
  }
}

// Scope, amr and acr that are not valid UTF-8 are refused like other claims.
TEST(SignerTest, InvalidUtf8ContextFails) {
  AccessClaims claims = TestClaims();
  claims.context.amr = {"\xff"};
  EXPECT_EQ(SignAccessToken(claims, TestKey()).status().code(), absl::StatusCode::kInvalidArgument);
  claims = TestClaims();
  claims.context.acr = "\xc3";
  EXPECT_EQ(SignAccessToken(claims, TestKey()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace token
