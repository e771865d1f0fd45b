#include "server/jwt/verifier.h"

#include <openssl/evp.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/error_reason.h"
#include "server/jwt/signer.h"
#include "tests/common/status_matchers.h"
#include "tests/jwt/test_common.h"

namespace token {
namespace {

using test::HasReason;
using test::kAudience;
using test::kIssuer;
using test::kNow;
using test::OtherKey;
using test::SignJson;
using test::SignRaw;
using test::TestClaims;
using test::TestHeader;
using test::TestKey;
using test::TestKeySet;
using test::TestOptions;
using test::TestPayload;

absl::StatusOr<AccessClaims> Verify(absl::string_view token,
                                    const VerifyOptions& options = TestOptions(),
                                    absl::Time now = kNow) {
  return VerifyAccessToken(token, TestKeySet(), options, now);
}

// Segments splits a token at its dots.
std::vector<std::string> Segments(absl::string_view token) { return absl::StrSplit(token, '.'); }

// ExpectTamperingFails checks that every single-character substitution and
// every truncation of a valid `token` fails to verify.
void ExpectTamperingFails(const std::string& token, const VerifyOptions& options = TestOptions()) {
  ASSERT_TRUE(Verify(token, options).ok()) << "precondition: token must verify";
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = token[i] == '.' ? 'A' : (token[i] == 'A' ? 'B' : 'A');
    EXPECT_FALSE(Verify(tampered, options).ok()) << "substitution at " << i;
  }
  for (size_t len = 0; len < token.size(); ++len) {
    EXPECT_FALSE(Verify(token.substr(0, len), options).ok()) << "truncation to " << len;
  }
}

std::string Sign(const AccessClaims& claims) {
  auto token = SignAccessToken(claims, TestKey());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.value_or("");
}

std::string SignPayload(const nlohmann::json& payload) { return SignJson(TestHeader(), payload); }

// --- Round trip ---------------------------------------------------------------

// A signed token verifies and yields exactly the claims that were signed.
TEST(VerifierTest, SignThenVerifyReturnsSameClaims) {
  const std::string token = Sign(TestClaims());
  auto claims = Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, TestClaims());
  ExpectTamperingFails(token);
}

// Non-ASCII subjects and an empty role list survive the round trip.
TEST(VerifierTest, Utf8SubjectAndNoRolesRoundTrip) {
  AccessClaims expected = TestClaims();
  expected.subject = "Zo\xc3\xab \"q\" \xf0\x9f\x8e\x89";
  expected.roles.clear();
  const std::string token = Sign(expected);
  auto claims = Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, expected);
  ExpectTamperingFails(token);
}

// A token of a key that is published but no longer signs still verifies.
TEST(VerifierTest, PublishedOldKeyVerifies) {
  auto rotated = KeySet::Create(test::GeneratedKey(1), {test::GeneratedKey(0)});
  ASSERT_TRUE(rotated.ok());
  auto claims = VerifyAccessToken(Sign(TestClaims()), **rotated, TestOptions(), kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, TestClaims());
}

// Unknown header parameters (even jku) are ignored, never followed.
TEST(VerifierTest, ExtraHeadersAreIgnored) {
  nlohmann::json header = TestHeader();
  header["jku"] = "https://attacker.example/jwks.json";
  header["cty"] = "ignored";
  const std::string token = SignJson(header, TestPayload());
  auto claims = Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, TestClaims());
  ExpectTamperingFails(token);
}

// --- Context claims -------------------------------------------------------------

// FullContextClaims: TestClaims() with every context claim set, as the
// signer's callers provide it (canonical custom claims, whole seconds).
AccessClaims FullContextClaims() {
  AccessClaims claims = TestClaims();
  claims.context.claims =
      R"({"email":"zo\u00eb@example.com","flags":{"beta":true,"n":[1,-2,3.5,null]},"tenant":"t1"})";
  claims.context.claims = nlohmann::json::parse(claims.context.claims).dump();
  claims.context.scopes = {"read:a", "write", "openid"};
  claims.context.auth_time = kNow - absl::Minutes(5);
  claims.context.amr = {"pwd", "otp"};
  claims.context.acr = "urn:example:loa:2";
  return claims;
}

// Every context claim survives the round trip: scopes in order, auth_time,
// amr, acr, and the custom claims as canonical JSON.
TEST(VerifierTest, ContextRoundTrips) {
  const AccessClaims expected = FullContextClaims();
  const std::string token = Sign(expected);
  auto claims = Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, expected);
  ExpectTamperingFails(token);
}

// A token without any context claim (as the previous release issued them)
// verifies with an empty context: no scopes, no auth_time, no amr, no acr,
// custom claims "{}".
TEST(VerifierTest, TokenWithoutContextHasEmptyContext) {
  auto claims = Verify(SignPayload(TestPayload()));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->context, TokenContext{});
  EXPECT_EQ(claims->context.claims, "{}");
}

// Every top-level member that is not reserved is a custom claim, with its
// value as it was (nested, floats kept floats); reserved names, including
// those this service never writes (client_id, cnf, azp, typ, nonce), never
// appear among them.
TEST(VerifierTest, UnreservedMembersAreCustomClaims) {
  nlohmann::json payload = TestPayload();
  payload["client_id"] = "c1";
  payload["cnf"] = {{"jkt", "abc"}};
  payload["azp"] = "app";
  payload["typ"] = "Bearer";
  payload["nonce"] = "n-1";
  payload["tenant"] = "t1";
  payload["ratio"] = 5.0;
  payload["deep"] = {{"b", {1, {{"c", nullptr}}}}, {"a", "x"}};
  auto claims = Verify(SignPayload(payload));
  ASSERT_TRUE(claims.ok()) << claims.status();
  const nlohmann::json custom = nlohmann::json::parse(claims->context.claims);
  EXPECT_EQ(custom, nlohmann::json({{"tenant", "t1"},
                                    {"ratio", 5.0},
                                    {"deep", {{"a", "x"}, {"b", {1, {{"c", nullptr}}}}}}}));
  EXPECT_TRUE(custom["ratio"].is_number_float());
  EXPECT_EQ(claims->context.claims, custom.dump()) << "not canonical";
  for (absl::string_view name : kReservedClaimNames) {
    EXPECT_FALSE(custom.contains(name)) << name;
  }
}

// scope splits on spaces; runs of spaces and leading or trailing ones yield
// no empty scope, and an empty scope string yields none.
TEST(VerifierTest, ScopeSplitsOnSpaces) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"a", {"a"}}, {"a b", {"a", "b"}},        {" a  b ", {"a", "b"}},
      {"", {}},     {"b a b", {"b", "a", "b"}},
  };
  for (const auto& [scope, expected] : cases) {
    nlohmann::json payload = TestPayload();
    payload["scope"] = scope;
    auto claims = Verify(SignPayload(payload));
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(claims->context.scopes, expected) << scope;
  }
}

// auth_time accepts integral floats; a fraction rounds down (an older
// authentication, the side a max_auth_age check rejects).
TEST(VerifierTest, AuthTimeFractionRoundsDown) {
  nlohmann::json payload = TestPayload();
  payload["auth_time"] = static_cast<double>(absl::ToUnixSeconds(kNow)) - 59.75;
  auto claims = Verify(SignPayload(payload));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->context.auth_time, kNow - absl::Seconds(60));
  payload["auth_time"] = 0;
  claims = Verify(SignPayload(payload));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->context.auth_time, absl::UnixEpoch());
}

// A context claim that is present but of the wrong type or out of range is
// malformed, like the required claims.
TEST(VerifierTest, MistypedContextClaimIsMalformed) {
  const std::vector<std::pair<const char*, nlohmann::json>> cases = {
      {"scope", 1},
      {"scope", nullptr},
      {"scope", nlohmann::json::array({"a", "b"})},
      {"auth_time", "1700000000"},
      {"auth_time", nullptr},
      {"auth_time", -1},
      {"auth_time", 253402300800ll},
      {"auth_time", 1e300},
      {"auth_time", true},
      {"amr", "pwd"},
      {"amr", nullptr},
      {"amr", nlohmann::json::array({"pwd", 1})},
      {"amr", {{"pwd", true}}},
      {"acr", 2},
      {"acr", nullptr},
      {"acr", nlohmann::json::array({"a"})},
  };
  for (const auto& [name, value] : cases) {
    nlohmann::json payload = TestPayload();
    payload[name] = value;
    EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_MALFORMED))
        << name << "=" << value;
  }
}

// --- Signature ----------------------------------------------------------------

// Flipping any one bit position in every byte of the signature fails.
TEST(VerifierTest, SignatureBitFlipsFail) {
  const std::vector<std::string> segments = Segments(Sign(TestClaims()));
  const std::string signature = *Base64UrlDecode(segments[2]);
  for (size_t i = 0; i < signature.size(); ++i) {
    std::string flipped = signature;
    flipped[i] = static_cast<char>(flipped[i] ^ (1 << (i % 8)));
    const std::string token =
        absl::StrCat(segments[0], ".", segments[1], ".", Base64UrlEncode(flipped));
    EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_SIGNATURE_INVALID)) << "byte " << i;
  }
}

// A signature one byte too long, too short or empty fails.
TEST(VerifierTest, WrongSignatureLengthFails) {
  const std::vector<std::string> segments = Segments(Sign(TestClaims()));
  const std::string signature = *Base64UrlDecode(segments[2]);
  const std::string input = absl::StrCat(segments[0], ".", segments[1], ".");
  for (const std::string& bad : {signature + "x", signature.substr(1), std::string()}) {
    EXPECT_TRUE(
        HasReason(Verify(input + Base64UrlEncode(bad)), ErrorReason::TOKEN_SIGNATURE_INVALID));
  }
}

// An unsigned alg "none" token, in any spelling, fails.
TEST(VerifierTest, AlgNoneFails) {
  for (const char* alg : {"none", "None", "NONE"}) {
    nlohmann::json header = TestHeader();
    header["alg"] = alg;
    const std::string unsigned_token = absl::StrCat(Base64UrlEncode(header.dump()), ".",
                                                    Base64UrlEncode(TestPayload().dump()), ".");
    EXPECT_TRUE(HasReason(Verify(unsigned_token), ErrorReason::TOKEN_SIGNATURE_INVALID)) << alg;
  }
}

// HS256 keyed with the public key's PEM or DER bytes (key confusion) fails.
TEST(VerifierTest, Hs256WithPublicKeyAsSecretFails) {
  nlohmann::json header = TestHeader();
  header["alg"] = "HS256";
  const std::string input =
      absl::StrCat(Base64UrlEncode(header.dump()), ".", Base64UrlEncode(TestPayload().dump()));
  for (const std::string& secret :
       {test::PublicKeyPem(TestKey()), test::PublicKeyDer(TestKey()), TestKeySet().jwks_json()}) {
    const std::string token =
        absl::StrCat(input, ".", Base64UrlEncode(test::HmacSha256(secret, input)));
    EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_SIGNATURE_INVALID));
  }
}

// An ES256 token, validly signed with an EC key, fails.
TEST(VerifierTest, Es256Fails) {
  EvpPkeyPtr ec(EVP_EC_gen("P-256"));
  ASSERT_NE(ec, nullptr);
  nlohmann::json header = TestHeader();
  header["alg"] = "ES256";
  const std::string token =
      test::SignWithDigestKey(header.dump(), TestPayload().dump(), ec.get(), EVP_sha256());
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// RS512 signed by our own key, and near-miss or mistyped alg values, fail.
TEST(VerifierTest, OtherAlgValuesFail) {
  nlohmann::json header = TestHeader();
  header["alg"] = "RS512";
  EXPECT_TRUE(HasReason(Verify(test::SignWithDigestKey(header.dump(), TestPayload().dump(),
                                                       TestKey().pkey(), EVP_sha512())),
                        ErrorReason::TOKEN_SIGNATURE_INVALID));
  for (const nlohmann::json& alg :
       {nlohmann::json("rs256"), nlohmann::json("RS256 "), nlohmann::json("PS256"),
        nlohmann::json(256), nlohmann::json::array({"RS256"}), nlohmann::json()}) {
    header["alg"] = alg;
    EXPECT_TRUE(
        HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_SIGNATURE_INVALID))
        << alg;
  }
  header.erase("alg");
  EXPECT_TRUE(
      HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// A payload re-encoded with a different subject under the original signature fails.
TEST(VerifierTest, TamperedPayloadFails) {
  const std::vector<std::string> segments = Segments(Sign(TestClaims()));
  nlohmann::json payload = nlohmann::json::parse(*Base64UrlDecode(segments[1]));
  payload["sub"] = "admin";
  const std::string token =
      absl::StrCat(segments[0], ".", Base64UrlEncode(payload.dump()), ".", segments[2]);
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// A kid that is unknown, missing or not a string fails.
TEST(VerifierTest, UnknownOrMissingKidFails) {
  nlohmann::json header = TestHeader();
  for (const nlohmann::json& kid :
       {nlohmann::json("unknown"), nlohmann::json(""), nlohmann::json(OtherKey().kid()),
        nlohmann::json(7), nlohmann::json(), nlohmann::json::array({TestKey().kid()})}) {
    header["kid"] = kid;
    EXPECT_TRUE(
        HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_SIGNATURE_INVALID))
        << kid;
  }
  header.erase("kid");
  EXPECT_TRUE(
      HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// A token signed by another key but naming our key's kid fails.
TEST(VerifierTest, OtherKeyWithSameKidFails) {
  const std::string token = SignJson(TestHeader(TestKey()), TestPayload(), OtherKey());
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// --- Shape --------------------------------------------------------------------

// Empty tokens and tokens with other than three segments are malformed.
TEST(VerifierTest, WrongSegmentCountIsMalformed) {
  const std::string token = Sign(TestClaims());
  const std::vector<std::string> s = Segments(token);
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("..."),
        absl::StrCat(s[0], ".", s[1]), absl::StrCat(token, ".", s[2]), token + ".", "." + token,
        std::string("abc")}) {
    EXPECT_TRUE(HasReason(Verify(bad), ErrorReason::TOKEN_MALFORMED)) << bad;
  }
}

// A character outside strict base64url in any segment is malformed.
TEST(VerifierTest, BadBase64UrlInEachSegmentIsMalformed) {
  const std::vector<std::string> segments = Segments(Sign(TestClaims()));
  for (size_t i = 0; i < 3; ++i) {
    for (const char* bad : {"+", "/", "=", " ", "*"}) {
      std::vector<std::string> tampered = segments;
      tampered[i].insert(tampered[i].size() / 2, bad);
      EXPECT_TRUE(HasReason(Verify(absl::StrJoin(tampered, ".")), ErrorReason::TOKEN_MALFORMED))
          << "segment " << i << " with '" << bad << "'";
    }
    std::vector<std::string> padded = segments;
    padded[i] += "==";
    EXPECT_TRUE(HasReason(Verify(absl::StrJoin(padded, ".")), ErrorReason::TOKEN_MALFORMED));
  }
}

// A validly signed payload or header that is not a JSON object is malformed.
TEST(VerifierTest, NonJsonObjectIsMalformed) {
  const std::string header = TestHeader().dump();
  const std::string payload = TestPayload().dump();
  for (const std::string& bad_payload :
       {std::string("not json"), std::string("[1,2]"), std::string("\"text\""), std::string(""),
        payload + "x", payload.substr(0, payload.size() - 1), std::string("{\"sub\":\"\xff\"}"),
        std::string("/* c */") + payload}) {
    EXPECT_TRUE(HasReason(Verify(SignRaw(header, bad_payload)), ErrorReason::TOKEN_MALFORMED))
        << bad_payload;
  }
  for (const std::string& bad_header : {std::string("[]"), std::string("null"), std::string("{")}) {
    EXPECT_TRUE(HasReason(Verify(SignRaw(bad_header, payload)), ErrorReason::TOKEN_MALFORMED))
        << bad_header;
  }
}

// A token longer than kDefaultMaxAccessTokenBytes is malformed even if validly signed.
TEST(VerifierTest, OverlongTokenIsMalformed) {
  AccessClaims claims = TestClaims();
  claims.roles.push_back(std::string(kDefaultMaxAccessTokenBytes, 'r'));
  const std::string token = Sign(claims);
  ASSERT_GT(token.size(), kDefaultMaxAccessTokenBytes);
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_MALFORMED));
  EXPECT_TRUE(HasReason(Verify(std::string(kDefaultMaxAccessTokenBytes + 1, 'A')),
                        ErrorReason::TOKEN_MALFORMED));
}

// A token just under the size cap still verifies.
TEST(VerifierTest, TokenAtSizeLimitVerifies) {
  AccessClaims claims = TestClaims();
  claims.roles.push_back("");
  const size_t base = Sign(claims).size();
  // Each 3 bytes of role add 4 characters; land within 3 of the limit.
  claims.roles.back() = std::string((kDefaultMaxAccessTokenBytes - base) * 3 / 4, 'r');
  const std::string token = Sign(claims);
  ASSERT_LE(token.size(), kDefaultMaxAccessTokenBytes);
  ASSERT_GE(token.size(), kDefaultMaxAccessTokenBytes - 3);
  auto verified = Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);
}

// The size cap is the configured one: raised above the default, a token of
// exactly the cap verifies and one byte more is malformed.
TEST(VerifierTest, ConfiguredSizeLimitIsEnforced) {
  AccessClaims claims = TestClaims();
  claims.roles.push_back(std::string(kDefaultMaxAccessTokenBytes, 'r'));
  const std::string token = Sign(claims);
  ASSERT_GT(token.size(), kDefaultMaxAccessTokenBytes);
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_MALFORMED));

  VerifyOptions options = TestOptions();
  options.max_token_bytes = token.size();
  auto verified = Verify(token, options);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);
  options.max_token_bytes = token.size() - 1;
  EXPECT_TRUE(HasReason(Verify(token, options), ErrorReason::TOKEN_MALFORMED));
  // A lowered cap applies too.
  options.max_token_bytes = 1024;
  EXPECT_TRUE(HasReason(Verify(std::string(1025, 'A'), options), ErrorReason::TOKEN_MALFORMED));
}

// exp - iat beyond max_lifetime is expired even while exp is in the future:
// the service grants no such lifetime, so its revocations would not be kept
// long enough. No leeway: exactly max_lifetime verifies, one second more not.
TEST(VerifierTest, LifetimeBeyondMaxLifetimeIsExpired) {
  VerifyOptions options = TestOptions();
  options.max_lifetime = absl::Minutes(15);
  AccessClaims claims = TestClaims();
  claims.expires_at = claims.issued_at + absl::Minutes(15);
  auto verified = Verify(Sign(claims), options);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);
  for (const absl::Duration lifetime : {absl::Minutes(15) + absl::Seconds(1),
                                        absl::Minutes(15) + absl::Seconds(31), absl::Hours(24)}) {
    claims.expires_at = claims.issued_at + lifetime;
    EXPECT_TRUE(HasReason(Verify(Sign(claims), options), ErrorReason::TOKEN_EXPIRED)) << lifetime;
    // Without a configured maximum (offline verifiers) any lifetime verifies.
    EXPECT_TRUE(Verify(Sign(claims)).ok()) << lifetime;
  }
  // A token issued an hour ago still counts its whole lifetime from iat.
  claims.issued_at = kNow - absl::Hours(1);
  claims.not_before = claims.issued_at;
  claims.expires_at = kNow + absl::Minutes(1);
  EXPECT_TRUE(HasReason(Verify(Sign(claims), options), ErrorReason::TOKEN_EXPIRED));
  // After the issuer check, before not-before and audience.
  nlohmann::json payload = TestPayload();
  payload["exp"] = absl::ToUnixSeconds(kNow) + 3600;
  payload["iss"] = "x";
  payload["nbf"] = absl::ToUnixSeconds(kNow) + 600;
  payload["aud"] = "x";
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload), options), ErrorReason::TOKEN_ISSUER_MISMATCH));
  payload["iss"] = kIssuer;
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload), options), ErrorReason::TOKEN_EXPIRED));
}

// typ may be absent or at+jwt in any case (with or without "application/"); else malformed.
TEST(VerifierTest, TypHeaderIsChecked) {
  nlohmann::json header = TestHeader();
  for (const char* good : {"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"}) {
    header["typ"] = good;
    EXPECT_TRUE(Verify(SignJson(header, TestPayload())).ok()) << good;
  }
  header.erase("typ");
  const std::string untyped = SignJson(header, TestPayload());
  EXPECT_TRUE(Verify(untyped).ok());
  ExpectTamperingFails(untyped);
  for (const nlohmann::json& bad :
       {nlohmann::json("JWT"), nlohmann::json("at+jwt "), nlohmann::json("application/jwt"),
        nlohmann::json(""), nlohmann::json(1), nlohmann::json()}) {
    header["typ"] = bad;
    EXPECT_TRUE(HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_MALFORMED))
        << bad;
  }
}

// A crit header, whatever it lists, is malformed.
TEST(VerifierTest, CritHeaderIsMalformed) {
  nlohmann::json header = TestHeader();
  for (const nlohmann::json& crit :
       {nlohmann::json::array({"exp"}), nlohmann::json::array(), nlohmann::json::array({"b64"})}) {
    header["crit"] = crit;
    EXPECT_TRUE(HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_MALFORMED));
  }
}

// --- Claims -------------------------------------------------------------------

// Removing any one required claim from a validly signed token is malformed.
TEST(VerifierTest, MissingEachRequiredClaimIsMalformed) {
  for (const char* name : {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "roles"}) {
    nlohmann::json payload = TestPayload();
    payload.erase(name);
    EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_MALFORMED)) << name;
  }
}

// A required claim of the wrong JSON type is malformed.
TEST(VerifierTest, MistypedClaimIsMalformed) {
  const std::vector<std::pair<const char*, nlohmann::json>> cases = {
      {"iss", 1},
      {"sub", nullptr},
      {"aud", 5},
      {"aud", {{"a", 1}}},
      {"aud", nlohmann::json::array({kAudience, 5})},
      {"iat", "1700000000"},
      {"nbf", true},
      {"exp", nlohmann::json::array({1700000900})},
      {"jti", 7},
      {"sid", false},
      {"roles", "admin"},
      {"roles", nlohmann::json::array({"admin", 1})},
      {"roles", {{"admin", true}}},
  };
  for (const auto& [name, value] : cases) {
    nlohmann::json payload = TestPayload();
    payload[name] = value;
    EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_MALFORMED))
        << name << "=" << value;
  }
}

// Times that are negative or beyond year 9999 are malformed, not wrapped.
TEST(VerifierTest, OutOfRangeTimeIsMalformed) {
  for (const nlohmann::json& value :
       {nlohmann::json(-1), nlohmann::json(1e300), nlohmann::json(-1e300),
        nlohmann::json(18446744073709551615ull), nlohmann::json(9223372036854775807ll),
        nlohmann::json(253402300800ll)}) {
    for (const char* name : {"iat", "nbf", "exp"}) {
      nlohmann::json payload = TestPayload();
      payload[name] = value;
      EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_MALFORMED))
          << name << "=" << value;
    }
  }
}

// Integral floating-point times are accepted like integers.
TEST(VerifierTest, FloatTimesVerify) {
  nlohmann::json payload = TestPayload();
  payload["exp"] = static_cast<double>(absl::ToUnixSeconds(kNow + absl::Minutes(15)));
  payload["iat"] = static_cast<double>(absl::ToUnixSeconds(kNow)) + 0.25;
  auto claims = Verify(SignPayload(payload));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, TestClaims());
}

// --- Meaning ------------------------------------------------------------------

// A different issuer, or an empty expected issuer, is an issuer mismatch.
TEST(VerifierTest, WrongIssuerFails) {
  AccessClaims claims = TestClaims();
  claims.issuer = "someone-else";
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_ISSUER_MISMATCH));
  VerifyOptions options = TestOptions();
  options.issuer = "";
  EXPECT_TRUE(HasReason(Verify(Sign(TestClaims()), options), ErrorReason::TOKEN_ISSUER_MISMATCH));
}

// exp exactly clock_skew in the past is expired; one second later is still accepted.
TEST(VerifierTest, ExpiredAtSkewBoundaryFails) {
  AccessClaims claims = TestClaims();
  claims.expires_at = kNow - absl::Seconds(30);
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_EXPIRED));
  claims.expires_at = kNow - absl::Hours(1);
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_EXPIRED));

  claims.expires_at = kNow - absl::Seconds(29);  // Within the leeway.
  const std::string token = Sign(claims);
  auto verified = Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);
  ExpectTamperingFails(token);
}

// With zero skew a token expires exactly at exp; a negative skew counts as zero.
TEST(VerifierTest, ZeroSkewExpiresAtExp) {
  VerifyOptions options = TestOptions();
  for (absl::Duration skew : {absl::ZeroDuration(), absl::Seconds(-60)}) {
    options.clock_skew = skew;
    AccessClaims claims = TestClaims();
    claims.expires_at = kNow;
    EXPECT_TRUE(HasReason(Verify(Sign(claims), options), ErrorReason::TOKEN_EXPIRED));
    claims.expires_at = kNow + absl::Seconds(1);
    EXPECT_TRUE(Verify(Sign(claims), options).ok());
    claims.not_before = kNow + absl::Seconds(1);
    EXPECT_TRUE(HasReason(Verify(Sign(claims), options), ErrorReason::TOKEN_NOT_YET_VALID));
  }
}

// nbf more than clock_skew ahead is not yet valid; exactly clock_skew ahead is accepted.
TEST(VerifierTest, NotBeforeInFutureFails) {
  AccessClaims claims = TestClaims();
  claims.not_before = kNow + absl::Seconds(31);
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_NOT_YET_VALID));

  claims.not_before = kNow + absl::Seconds(30);  // Within the leeway.
  const std::string token = Sign(claims);
  auto verified = Verify(token);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);
  ExpectTamperingFails(token);
}

// Fractional exp rounds down and fractional nbf rounds up, towards rejection.
TEST(VerifierTest, FractionalTimesRoundTowardsRejection) {
  nlohmann::json payload = TestPayload();
  payload["exp"] = static_cast<double>(absl::ToUnixSeconds(kNow) - 30) + 0.9;
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_EXPIRED));
  payload = TestPayload();
  payload["nbf"] = static_cast<double>(absl::ToUnixSeconds(kNow) + 30) + 0.1;
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_NOT_YET_VALID));
}

// A different audience, or none expected, is an audience mismatch.
TEST(VerifierTest, WrongAudienceFails) {
  AccessClaims claims = TestClaims();
  claims.audience = "other-api";
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
  claims.audience = "";
  VerifyOptions options = TestOptions();
  options.audience = "";
  EXPECT_TRUE(HasReason(Verify(Sign(claims), options), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
}

// An aud array containing the expected audience verifies and reports that audience.
TEST(VerifierTest, AudienceArrayContainingExpectedVerifies) {
  nlohmann::json payload = TestPayload();
  payload["aud"] = nlohmann::json::array({"billing", kAudience});
  const std::string token = SignPayload(payload);
  auto claims = Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->audience, kAudience);
  EXPECT_EQ(*claims, TestClaims());
  ExpectTamperingFails(token);
}

// An aud array without the expected audience, or empty, is a mismatch.
TEST(VerifierTest, AudienceArrayWithoutExpectedFails) {
  nlohmann::json payload = TestPayload();
  for (const nlohmann::json& aud :
       {nlohmann::json::array({"billing", "API"}), nlohmann::json::array()}) {
    payload["aud"] = aud;
    EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
  }
}

// Failures are reported in the documented order.
TEST(VerifierTest, ChecksRunInDocumentedOrder) {
  // Malformed header beats a bad algorithm.
  nlohmann::json header = TestHeader();
  header["typ"] = "JWT";
  header["alg"] = "HS256";
  EXPECT_TRUE(HasReason(Verify(SignJson(header, TestPayload())), ErrorReason::TOKEN_MALFORMED));
  // A bad signature beats a missing claim.
  nlohmann::json payload = TestPayload();
  payload.erase("sub");
  EXPECT_TRUE(HasReason(Verify(SignJson(TestHeader(TestKey()), payload, OtherKey())),
                        ErrorReason::TOKEN_SIGNATURE_INVALID));
  // Issuer, then expiry, then not-before, then audience.
  payload = TestPayload();
  payload["iss"] = "x";
  payload["exp"] = 1;
  payload["aud"] = "x";
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_ISSUER_MISMATCH));
  payload["iss"] = kIssuer;
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_EXPIRED));
  payload["exp"] = absl::ToUnixSeconds(kNow) + 900;
  payload["nbf"] = absl::ToUnixSeconds(kNow) + 600;
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_NOT_YET_VALID));
  payload["nbf"] = absl::ToUnixSeconds(kNow);
  EXPECT_TRUE(HasReason(Verify(SignPayload(payload)), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
}

// Error messages are short and never contain any part of the token.
TEST(VerifierTest, ErrorMessagesDoNotEchoToken) {
  AccessClaims claims = TestClaims();
  claims.expires_at = kNow - absl::Hours(1);
  const std::string expired = Sign(claims);
  const std::string token = Sign(TestClaims());
  for (const std::string& bad : {expired, token.substr(0, token.size() - 2), token + "x",
                                 SignJson(TestHeader(), TestPayload(), OtherKey())}) {
    const auto result = Verify(bad);
    ASSERT_FALSE(result.ok());
    const std::string message(result.status().message());
    EXPECT_LT(message.size(), 80u) << message;
    for (const std::string& segment : Segments(bad)) {
      if (segment.size() >= 8) {
        EXPECT_FALSE(absl::StrContains(message, segment.substr(0, 8)));
      }
    }
  }
}

}  // namespace
}  // namespace token
