#include "server/keys/key_set.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"

namespace token {
namespace {

// kEtagBytes: 128 bits of SHA-256 are plenty to tell JWKS versions apart.
constexpr size_t kEtagBytes = 16;

std::string StrongEtag(const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1 ||
      digest_len < kEtagBytes) {
    // SHA-256 cannot fail short of a broken library; a stale tag would be worse.
    std::abort();
  }
  return absl::StrCat(
      "\"", Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(digest), kEtagBytes)),
      "\"");
}

}  // namespace

KeySet::KeySet(RsaKeyPtr signing, std::vector<Handover> handovers, std::vector<RsaKeyPtr> published,
               std::string jwks_json, std::string jwks_etag)
    : signing_(std::move(signing)),
      handovers_(std::move(handovers)),
      published_(std::move(published)),
      jwks_json_(std::move(jwks_json)),
      jwks_etag_(std::move(jwks_etag)) {}

absl::StatusOr<KeySetPtr> KeySet::Create(RsaKeyPtr signing, std::vector<RsaKeyPtr> published,
                                         std::vector<Handover> handovers) {
  if (signing == nullptr) return absl::InvalidArgumentError("key set needs a signing key");
  for (const Handover& handover : handovers) {
    if (handover.key == nullptr) {
      return absl::InvalidArgumentError("key set has a handover without a key");
    }
    if (handover.at == absl::InfiniteFuture() || handover.at == absl::InfinitePast()) {
      return absl::InvalidArgumentError("key set has a handover without a finite time");
    }
  }
  std::stable_sort(handovers.begin(), handovers.end(),
                   [](const Handover& a, const Handover& b) { return a.at < b.at; });

  std::vector<RsaKeyPtr> unique;
  unique.reserve(published.size() + 1 + handovers.size());
  const auto add = [&unique](RsaKeyPtr key) {
    for (const RsaKeyPtr& kept : unique) {
      if (kept->kid() == key->kid()) return;
    }
    unique.push_back(std::move(key));
  };
  for (RsaKeyPtr& key : published) {
    if (key == nullptr) return absl::InvalidArgumentError("key set contains a null key");
    add(std::move(key));
  }
  add(signing);
  for (const Handover& handover : handovers) add(handover.key);

  nlohmann::json keys = nlohmann::json::array();
  for (const RsaKeyPtr& key : unique) keys.push_back(key->PublicJwk());
  // Only base64url and fixed ASCII strings: dump() cannot meet invalid UTF-8.
  std::string jwks = nlohmann::json{{"keys", std::move(keys)}}.dump();
  std::string etag = StrongEtag(jwks);
  return KeySetPtr(new KeySet(std::move(signing), std::move(handovers), std::move(unique),
                              std::move(jwks), std::move(etag)));
}

absl::StatusOr<KeySetPtr> KeySet::CreateForVerification(std::vector<RsaKeyPtr> published) {
  if (published.empty()) return absl::InvalidArgumentError("key set needs at least one key");
  RsaKeyPtr first = published.front();
  return Create(std::move(first), std::move(published));
}

const RsaKey& KeySet::SigningKeyAt(absl::Time now) const {
  const RsaKey* key = signing_.get();
  for (const Handover& handover : handovers_) {
    if (handover.at > now) break;
    key = handover.key.get();
  }
  return *key;
}

const RsaKey* KeySet::FindByKid(absl::string_view kid) const {
  for (const RsaKeyPtr& key : published_) {
    if (key->kid() == kid) return key.get();
  }
  return nullptr;
}

}  // namespace token
