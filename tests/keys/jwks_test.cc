#include "server/keys/jwks.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/jwt/signer.h"
#include "server/jwt/verifier.h"
#include "server/keys/key_set.h"
#include "tests/keys/test_keys.h"

namespace token {
namespace {

// kNow: 2023-11-14T22:13:20Z.
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

class JwksTest : public ::testing::Test {
 protected:
  static const RsaKeyPtr& K(int i) { return token::testing::TestKey(i); }

  // ServedJwks is what the server publishes for keys 0 and 1.
  static std::string ServedJwks() { return (*KeySet::Create(K(1), {K(0), K(1)}))->jwks_json(); }

  static nlohmann::json ServedJson() { return nlohmann::json::parse(ServedJwks()); }

  static AccessClaims Claims() {
    AccessClaims claims;
    claims.issuer = "token-service";
    claims.subject = "user-1";
    claims.audience = "api";
    claims.session_id = "0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1";
    claims.token_id = "jti-1";
    claims.issued_at = kNow;
    claims.not_before = kNow;
    claims.expires_at = kNow + absl::Minutes(15);
    return claims;
  }

  static VerifyOptions Options() {
    VerifyOptions options;
    options.issuer = "token-service";
    options.audience = "api";
    return options;
  }

 private:
};

// The served JWKS parses back into the same public keys, in order, without private halves.
TEST_F(JwksTest, ParseServedJwksRoundTripsKeys) {
  auto parsed = ParseJwks(ServedJwks());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ((*parsed)[i]->kid(), K(i)->kid());
    EXPECT_EQ((*parsed)[i]->n(), K(i)->n());
    EXPECT_EQ((*parsed)[i]->e(), K(i)->e());
    EXPECT_FALSE((*parsed)[i]->has_private_key());
    EXPECT_EQ((*parsed)[i]->PublicJwk(), K(i)->PublicJwk());
  }
}

// A token signed by the server's key verifies offline against the parsed JWKS; tampering fails.
TEST_F(JwksTest, OfflineVerifyWithParsedJwksSucceeds) {
  auto parsed = ParseJwks(ServedJwks());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto verify_only = KeySet::CreateForVerification(*parsed);
  ASSERT_TRUE(verify_only.ok()) << verify_only.status();
  for (int i = 0; i < 2; ++i) {
    auto token = SignAccessToken(Claims(), *K(i));
    ASSERT_TRUE(token.ok()) << token.status();
    auto claims = VerifyAccessToken(*token, **verify_only, Options(), kNow);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(*claims, Claims());
    std::string flipped = *token;
    flipped[flipped.size() - 10] = flipped[flipped.size() - 10] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(VerifyAccessToken(flipped, **verify_only, Options(), kNow).ok());
    EXPECT_FALSE(
        VerifyAccessToken(token->substr(0, token->size() - 4), **verify_only, Options(), kNow)
            .ok());
  }
}

// A verify-only key cannot sign: signing fails cleanly instead of producing a token.
TEST_F(JwksTest, PublicOnlyKeyCannotSign) {
  auto parsed = ParseJwks(ServedJwks());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(SignAccessToken(Claims(), *parsed->front()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A private member on any key, even one that would be skipped, rejects the whole document.
TEST_F(JwksTest, PrivateMembersRejectWholeSet) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    nlohmann::json doc = ServedJson();
    doc["keys"][0][member] = "AQAB";
    const auto parsed = ParseJwks(doc.dump());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << member;
    EXPECT_NE(std::string(parsed.status().message()).find("private"), std::string::npos);

    nlohmann::json with_ec = ServedJson();
    with_ec["keys"].push_back({{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}});
    with_ec["keys"][2][member] = "AQAB";
    EXPECT_FALSE(ParseJwks(with_ec.dump()).ok()) << member;
  }
}

// Keys that cannot verify RS256 (other kty, use or alg) are skipped; none left is NOT_FOUND.
TEST_F(JwksTest, UnusableKeysAreSkipped) {
  nlohmann::json doc = ServedJson();
  doc["keys"][0]["use"] = "enc";
  doc["keys"].push_back({{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}});
  nlohmann::json rs512 = K(0)->PublicJwk();
  rs512["alg"] = "RS512";
  doc["keys"].push_back(rs512);
  auto parsed = ParseJwks(doc.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ(parsed->front()->kid(), K(1)->kid());

  doc["keys"].erase(1);
  EXPECT_EQ(ParseJwks(doc.dump()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseJwks(R"({"keys":[]})").status().code(), absl::StatusCode::kNotFound);
  // Without use and alg an RSA key is usable.
  nlohmann::json bare = ServedJson();
  bare["keys"][0].erase("use");
  bare["keys"][0].erase("alg");
  EXPECT_TRUE(ParseJwks(bare.dump()).ok());
}

// A kid that is not the RFC 7638 thumbprint, a missing kid or a duplicate key is rejected.
TEST_F(JwksTest, KidMismatchMissingOrDuplicateFails) {
  nlohmann::json wrong = ServedJson();
  wrong["keys"][0]["kid"] = K(1)->kid();
  EXPECT_EQ(ParseJwks(wrong.dump()).status().code(), absl::StatusCode::kInvalidArgument);
  nlohmann::json missing = ServedJson();
  missing["keys"][0].erase("kid");
  EXPECT_EQ(ParseJwks(missing.dump()).status().code(), absl::StatusCode::kInvalidArgument);
  nlohmann::json duplicate = ServedJson();
  duplicate["keys"].push_back(duplicate["keys"][0]);
  EXPECT_EQ(ParseJwks(duplicate.dump()).status().code(), absl::StatusCode::kInvalidArgument);
  nlohmann::json number = ServedJson();
  number["keys"][0]["kid"] = 7;
  EXPECT_EQ(ParseJwks(number.dump()).status().code(), absl::StatusCode::kInvalidArgument);
}

// Garbage of every shape is an error, never an exception or a crash.
TEST_F(JwksTest, GarbageIsRejected) {
  const std::string served = ServedJwks();
  std::vector<std::string> inputs = {
      "",
      "null",
      "[]",
      "{}",
      "\"keys\"",
      R"({"keys":{}})",
      R"({"keys":[1]})",
      R"({"keys":[[]]})",
      R"({"keys":[{}]})",
      R"({"keys":[{"kty":1}]})",
      R"({"keys":[{"kty":"RSA"}]})",
      R"({"keys":[{"kty":"RSA","n":1,"e":"AQAB","kid":"x"}]})",
      R"({"keys":[{"kty":"RSA","n":"!!","e":"AQAB","kid":"x"}]})",
      R"({"keys":[{"kty":"RSA","use":5,"n":"AQAB","e":"AQAB","kid":"x"}]})",
      "{\"keys\":[{\"kty\":\"RSA\xff\"}]}",
      std::string(100000, '['),
      std::string(kMaxJwksBytes + 1, ' '),
      served + "x",
  };
  nlohmann::json many = ServedJson();
  while (many["keys"].size() <= kMaxJwksKeys) many["keys"].push_back(many["keys"][0]);
  inputs.push_back(many.dump());
  for (size_t cut = 0; cut < served.size(); cut += 7) inputs.push_back(served.substr(0, cut));
  for (const std::string& input : inputs) {
    EXPECT_FALSE(ParseJwks(input).ok()) << input.substr(0, 80);
  }
}

// Random byte mutations of a valid JWKS never crash; whatever parses has thumbprint kids.
TEST_F(JwksTest, RandomMutationsNeverCrash) {
  const std::string served = ServedJwks();
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string input = served;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < edits; ++j) {
      const size_t pos = rng() % input.size();
      input[pos] = static_cast<char>(rng() % 256);
    }
    auto parsed = ParseJwks(input);
    if (!parsed.ok()) continue;
    ++accepted;
    for (const RsaKeyPtr& key : *parsed) {
      EXPECT_FALSE(key->has_private_key());
      EXPECT_TRUE(key->kid() == K(0)->kid() || key->kid() == K(1)->kid() ||
                  key->kid().size() == 43u);
    }
  }
  // Most single-byte edits land in a modulus and are caught by the kid check.
  EXPECT_LT(accepted, 3000);
}

}  // namespace
}  // namespace token
