#include "server/session/refresh_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "server/common/base64url.h"

namespace token {
namespace {

// Domain separation: each HMAC output has exactly one use.
constexpr absl::string_view kSuccessorLabel = "token.v1 refresh successor";
constexpr absl::string_view kTagLabel = "token.v1 refresh tag";

// Mac returns HMAC-SHA-256(key, label ‖ session id ‖ secret).
std::string Mac(absl::string_view key, absl::string_view label, const Uuid& session_id,
                absl::string_view secret) {
  std::string input(label);
  input.append(reinterpret_cast<const char*>(session_id.data()), session_id.size());
  input.append(secret.data(), secret.size());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr) {
    std::abort();  // Only fails on allocation failure.
  }
  OPENSSL_cleanse(input.data(), input.size());
  std::string out(reinterpret_cast<char*>(mac), mac_len);
  OPENSSL_cleanse(mac, sizeof(mac));
  return out;
}

}  // namespace

std::string FormatRefreshToken(const RefreshToken& token) {
  std::string body(reinterpret_cast<const char*>(token.session_id.data()), token.session_id.size());
  body += token.secret;
  body += token.tag;
  std::string out(kRefreshTokenPrefix);
  out += Base64UrlEncode(body);
  OPENSSL_cleanse(body.data(), body.size());
  return out;
}

std::optional<RefreshToken> ParseRefreshToken(absl::string_view text) {
  if (text.size() != kRefreshTokenLength || !absl::StartsWith(text, kRefreshTokenPrefix)) {
    return std::nullopt;
  }
  std::optional<std::string> body = Base64UrlDecode(text.substr(kRefreshTokenPrefix.size()));
  if (!body.has_value() || body->size() != 16 + kRefreshTokenSecretBytes + kRefreshTokenTagBytes) {
    return std::nullopt;
  }
  RefreshToken token;
  for (size_t i = 0; i < 16; ++i) token.session_id[i] = static_cast<uint8_t>((*body)[i]);
  token.secret = body->substr(16, kRefreshTokenSecretBytes);
  token.tag = body->substr(16 + kRefreshTokenSecretBytes);
  OPENSSL_cleanse(body->data(), body->size());
  return token;
}

RefreshSecretChain::RefreshSecretChain(std::string key) : key_(std::move(key)) {
  if (key_.size() < 32) std::abort();  // A weak key would make tokens guessable.
}

RefreshSecretChain::~RefreshSecretChain() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string RefreshSecretChain::Tag(const Uuid& session_id, absl::string_view secret) const {
  std::string mac = Mac(key_, kTagLabel, session_id, secret);
  std::string tag = mac.substr(0, kRefreshTokenTagBytes);
  OPENSSL_cleanse(mac.data(), mac.size());
  return tag;
}

RefreshToken RefreshSecretChain::NewToken(const Uuid& session_id) const {
  RefreshToken token{session_id, RandomBytes(kRefreshTokenSecretBytes), ""};
  token.tag = Tag(session_id, token.secret);
  return token;
}

RefreshToken RefreshSecretChain::Successor(const RefreshToken& token) const {
  RefreshToken next{token.session_id, Mac(key_, kSuccessorLabel, token.session_id, token.secret),
                    ""};
  next.tag = Tag(next.session_id, next.secret);
  return next;
}

bool RefreshSecretChain::IsAuthentic(const RefreshToken& token) const {
  if (token.tag.size() != kRefreshTokenTagBytes) return false;
  std::string expected = Tag(token.session_id, token.secret);
  const bool equal = CRYPTO_memcmp(expected.data(), token.tag.data(), kRefreshTokenTagBytes) == 0;
  OPENSSL_cleanse(expected.data(), expected.size());
  return equal;
}

std::string RefreshSecretChain::StoredHash(const RefreshToken& token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.secret.data()), token.secret.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

std::vector<std::string> RefreshSecretChain::CandidateHashes(const RefreshToken& token,
                                                             int depth) const {
  std::vector<std::string> hashes;
  hashes.reserve(depth + 1);
  // Only secrets are chained here: the successors' tags are not needed.
  RefreshToken current{token.session_id, token.secret, ""};
  hashes.push_back(StoredHash(current));
  for (int i = 0; i < depth; ++i) {
    std::string next = Mac(key_, kSuccessorLabel, current.session_id, current.secret);
    OPENSSL_cleanse(current.secret.data(), current.secret.size());
    current.secret = std::move(next);
    hashes.push_back(StoredHash(current));
  }
  OPENSSL_cleanse(current.secret.data(), current.secret.size());
  return hashes;
}

}  // namespace token
