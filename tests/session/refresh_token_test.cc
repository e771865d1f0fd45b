#include "server/session/refresh_token.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/common/base64url.h"
#include "server/common/random.h"

namespace token {
namespace {

// A fixed 32-byte server refresh key, and a second one.
const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');

RefreshToken MakeToken(char fill = 's') {
  return RefreshToken{NewUuidV4(), std::string(kRefreshTokenSecretBytes, fill),
                      std::string(kRefreshTokenTagBytes, 't')};
}

const RefreshSecretChain& Chain() {
  static const RefreshSecretChain* chain = new RefreshSecretChain(kKey);
  return *chain;
}

// Body returns the base64url part of a well-formed token.
std::string Body(const std::string& token) { return token.substr(kRefreshTokenPrefix.size()); }

// A formatted token parses back to the same session id and secret.
TEST(RefreshTokenTest, FormatParseRoundTripPreservesFields) {
  const RefreshToken token = Chain().NewToken(NewUuidV4());
  const std::optional<RefreshToken> parsed = ParseRefreshToken(FormatRefreshToken(token));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->session_id, token.session_id);
  EXPECT_EQ(parsed->secret, token.secret);
  EXPECT_EQ(parsed->tag, token.tag);
}

// The wire form starts with the scanner-visible prefix "tsr1_".
TEST(RefreshTokenTest, FormatStartsWithPrefix) {
  const std::string text = FormatRefreshToken(MakeToken());
  EXPECT_EQ(kRefreshTokenPrefix, "tsr1_");
  EXPECT_TRUE(absl::StartsWith(text, "tsr1_"));
}

// Every formatted token has exactly kRefreshTokenLength (5 + 86) characters.
TEST(RefreshTokenTest, FormatHasExactLength) {
  EXPECT_EQ(kRefreshTokenLength, 91u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(FormatRefreshToken(Chain().NewToken(NewUuidV4())).size(), 91u);
  }
}

// Tokens from the chain are authentic; any change to id, secret or tag, or
// another key, makes them not.
TEST(RefreshTokenTest, IsAuthenticOnlyForUntamperedTokens) {
  const RefreshToken token = Chain().NewToken(NewUuidV4());
  EXPECT_TRUE(Chain().IsAuthentic(token));
  EXPECT_TRUE(Chain().IsAuthentic(Chain().Successor(token)));
  EXPECT_FALSE(RefreshSecretChain(kOtherKey).IsAuthentic(token));
  RefreshToken changed = token;
  changed.secret[0] ^= 1;
  EXPECT_FALSE(Chain().IsAuthentic(changed));
  changed = token;
  changed.tag[15] ^= 1;
  EXPECT_FALSE(Chain().IsAuthentic(changed));
  changed = token;
  changed.session_id[0] ^= 1;
  EXPECT_FALSE(Chain().IsAuthentic(changed));
  changed = token;
  changed.tag.clear();
  EXPECT_FALSE(Chain().IsAuthentic(changed));
}

// NewToken draws a fresh 256-bit secret each time.
TEST(RefreshTokenTest, NewTokenSecretsAre32RandomBytes) {
  const Uuid id = NewUuidV4();
  const RefreshToken a = Chain().NewToken(id);
  const RefreshToken b = Chain().NewToken(id);
  EXPECT_EQ(a.secret.size(), 32u);
  EXPECT_EQ(a.session_id, id);
  EXPECT_NE(a.secret, b.secret);
}

// A token with another or missing prefix is rejected even if its body is valid.
TEST(RefreshTokenTest, ParseWrongPrefixFails) {
  const std::string body = Body(FormatRefreshToken(MakeToken()));
  EXPECT_FALSE(ParseRefreshToken(absl::StrCat("tsr2_", body)).has_value());
  EXPECT_FALSE(ParseRefreshToken(absl::StrCat("TSR1_", body)).has_value());
  EXPECT_FALSE(ParseRefreshToken(absl::StrCat("xtsr1", body)).has_value());
  EXPECT_FALSE(ParseRefreshToken(absl::StrCat("AAAAA", body)).has_value());
}

// One character too few or too many, an empty string or a huge input are rejected.
TEST(RefreshTokenTest, ParseWrongLengthFails) {
  const std::string text = FormatRefreshToken(MakeToken());
  EXPECT_FALSE(ParseRefreshToken("").has_value());
  EXPECT_FALSE(ParseRefreshToken("tsr1_").has_value());
  EXPECT_FALSE(ParseRefreshToken(text.substr(0, text.size() - 1)).has_value());
  EXPECT_FALSE(ParseRefreshToken(text + "A").has_value());
  EXPECT_FALSE(ParseRefreshToken(text + text).has_value());
  EXPECT_FALSE(ParseRefreshToken(std::string(1 << 20, 'A')).has_value());
  // A well-formed base64url body of 63 bytes (84 characters) is too short.
  EXPECT_FALSE(
      ParseRefreshToken(absl::StrCat("tsr1_", Base64UrlEncode(std::string(63, 'x')))).has_value());
}

// Characters outside the URL-safe alphabet (standard '+' '/', space, non-ASCII) are rejected.
TEST(RefreshTokenTest, ParseBadBase64UrlFails) {
  const std::string text = FormatRefreshToken(MakeToken());
  for (char bad : {'+', '/', ' ', '.', '\0', '\n', '\x80', '\xff'}) {
    std::string tampered = text;
    tampered[10] = bad;
    EXPECT_FALSE(ParseRefreshToken(tampered).has_value()) << static_cast<int>(bad);
    tampered = text;
    tampered.back() = bad;
    EXPECT_FALSE(ParseRefreshToken(tampered).has_value()) << static_cast<int>(bad);
  }
}

// Base64 padding is rejected, also when it keeps the total length right.
TEST(RefreshTokenTest, ParsePaddingFails) {
  // 64 bytes encode to 86 characters; 62 bytes to 83, and "===" makes 91... use
  // 63 bytes (84 characters) plus two '=' to keep the total length right.
  const std::string padded = absl::StrCat("tsr1_", Base64UrlEncode(std::string(63, 'x')), "==");
  ASSERT_EQ(padded.size(), kRefreshTokenLength);
  EXPECT_FALSE(ParseRefreshToken(padded).has_value());
  std::string text = FormatRefreshToken(MakeToken());
  text.replace(text.size() - 2, 2, "==");
  EXPECT_FALSE(ParseRefreshToken(text).has_value());
}

// Successor is a pure function of key and token: the same input gives the same successor.
TEST(RefreshTokenTest, SuccessorSameKeyIsDeterministic) {
  const RefreshSecretChain chain(kKey);
  const RefreshSecretChain same_key(kKey);
  const RefreshToken token = MakeToken();
  const RefreshToken a = chain.Successor(token);
  const RefreshToken b = chain.Successor(token);
  const RefreshToken c = same_key.Successor(token);
  EXPECT_EQ(a.secret, b.secret);
  EXPECT_EQ(a.secret, c.secret);
  EXPECT_EQ(a.session_id, token.session_id);
  EXPECT_EQ(a.secret.size(), kRefreshTokenSecretBytes);
  EXPECT_NE(a.secret, token.secret);
}

// Another server key derives another successor.
TEST(RefreshTokenTest, SuccessorOtherKeyDiffers) {
  const RefreshToken token = MakeToken();
  EXPECT_NE(RefreshSecretChain(kKey).Successor(token).secret,
            RefreshSecretChain(kOtherKey).Successor(token).secret);
}

// The same secret under another session id derives another successor.
TEST(RefreshTokenTest, SuccessorOtherSessionIdDiffers) {
  const RefreshSecretChain chain(kKey);
  RefreshToken a = MakeToken();
  RefreshToken b = a;
  b.session_id = NewUuidV4();
  ASSERT_NE(a.session_id, b.session_id);
  EXPECT_NE(chain.Successor(a).secret, chain.Successor(b).secret);
}

// Another secret under the same session id derives another successor.
TEST(RefreshTokenTest, SuccessorOtherSecretDiffers) {
  const RefreshSecretChain chain(kKey);
  RefreshToken a = MakeToken('a');
  RefreshToken b = a;
  b.secret[31] ^= 0x01;
  EXPECT_NE(chain.Successor(a).secret, chain.Successor(b).secret);
}

// CandidateHashes(t, n)[k] is StoredHash of the k-th successor of t, for k = 0..n.
TEST(RefreshTokenTest, CandidateHashesMatchSuccessorChain) {
  const RefreshSecretChain chain(kKey);
  const RefreshToken token = Chain().NewToken(NewUuidV4());
  const int depth = 20;
  const std::vector<std::string> hashes = chain.CandidateHashes(token, depth);
  ASSERT_EQ(hashes.size(), static_cast<size_t>(depth + 1));
  RefreshToken current = token;
  for (int k = 0; k <= depth; ++k) {
    EXPECT_EQ(hashes[k], RefreshSecretChain::StoredHash(current)) << "k=" << k;
    current = chain.Successor(current);
  }
  // All generations are distinct.
  for (int i = 0; i <= depth; ++i) {
    for (int j = i + 1; j <= depth; ++j) EXPECT_NE(hashes[i], hashes[j]);
  }
}

// Depth 0 yields just the presented token's own hash.
TEST(RefreshTokenTest, CandidateHashesDepthZeroHasOnlyOwnHash) {
  const RefreshSecretChain chain(kKey);
  const RefreshToken token = MakeToken();
  const std::vector<std::string> hashes = chain.CandidateHashes(token, 0);
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_EQ(hashes[0], RefreshSecretChain::StoredHash(token));
}

// StoredHash is SHA-256 of the secret: 32 bytes, not the secret, a known vector.
TEST(RefreshTokenTest, StoredHashIsSha256OfSecret) {
  RefreshToken token = MakeToken();
  const std::string hash = RefreshSecretChain::StoredHash(token);
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_NE(hash, token.secret);
  EXPECT_EQ(hash, RefreshSecretChain::StoredHash(token));
  // SHA-256 of 32 zero bytes.
  token.secret = std::string(32, '\0');
  token.session_id = NewUuidV4();  // The session id is not hashed.
  EXPECT_EQ(Base64UrlEncode(RefreshSecretChain::StoredHash(token)),
            "Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU");
}

}  // namespace
}  // namespace token
