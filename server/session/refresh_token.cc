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

// Domain separation: these HMAC outputs are only ever refresh secrets.
constexpr absl::string_view kSuccessorLabel = "token.v1 refresh successor";

}  // namespace

std::string FormatRefreshToken(const RefreshToken& token) {
  std::string body(reinterpret_cast<const char*>(token.session_id.data()), token.session_id.size());
  body += token.secret;
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
  if (!body.has_value() || body->size() != 16 + kRefreshTokenSecretBytes) return std::nullopt;
  RefreshToken token;
  for (size_t i = 0; i < 16; ++i) token.session_id[i] = static_cast<uint8_t>((*body)[i]);
  token.secret = body->substr(16);
  OPENSSL_cleanse(body->data(), body->size());
  return token;
}

RefreshSecretChain::RefreshSecretChain(std::string key) : key_(std::move(key)) {
  if (key_.size() < 32) std::abort();  // A weak key would make tokens guessable.
}

RefreshSecretChain::~RefreshSecretChain() { OPENSSL_cleanse(key_.data(), key_.size()); }

RefreshToken RefreshSecretChain::NewToken(const Uuid& session_id) {
  return RefreshToken{session_id, RandomBytes(kRefreshTokenSecretBytes)};
}

RefreshToken RefreshSecretChain::Successor(const RefreshToken& token) const {
  std::string input(kSuccessorLabel);
  input.append(reinterpret_cast<const char*>(token.session_id.data()), token.session_id.size());
  input += token.secret;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
           &mac_len) == nullptr) {
    std::abort();  // Only fails on allocation failure.
  }
  OPENSSL_cleanse(input.data(), input.size());
  RefreshToken next{token.session_id, std::string(reinterpret_cast<char*>(mac), mac_len)};
  OPENSSL_cleanse(mac, sizeof(mac));
  return next;
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
  RefreshToken current = token;
  hashes.push_back(StoredHash(current));
  for (int i = 0; i < depth; ++i) {
    current = Successor(current);
    hashes.push_back(StoredHash(current));
  }
  OPENSSL_cleanse(current.secret.data(), current.secret.size());
  return hashes;
}

}  // namespace token
