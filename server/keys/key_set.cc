#include "server/keys/key_set.h"

#include <utility>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace token {

KeySet::KeySet(RsaKeyPtr signing, std::vector<RsaKeyPtr> published, std::string jwks_json)
    : signing_(std::move(signing)),
      published_(std::move(published)),
      jwks_json_(std::move(jwks_json)) {}

absl::StatusOr<KeySetPtr> KeySet::Create(RsaKeyPtr signing, std::vector<RsaKeyPtr> published) {
  if (signing == nullptr) return absl::InvalidArgumentError("key set needs a signing key");
  std::vector<RsaKeyPtr> unique;
  unique.reserve(published.size() + 1);
  bool has_signing = false;
  for (RsaKeyPtr& key : published) {
    if (key == nullptr) return absl::InvalidArgumentError("key set contains a null key");
    bool duplicate = false;
    for (const RsaKeyPtr& kept : unique) duplicate = duplicate || kept->kid() == key->kid();
    if (duplicate) continue;
    has_signing = has_signing || key->kid() == signing->kid();
    unique.push_back(std::move(key));
  }
  if (!has_signing) unique.push_back(signing);

  nlohmann::json keys = nlohmann::json::array();
  for (const RsaKeyPtr& key : unique) keys.push_back(key->PublicJwk());
  // Only base64url and fixed ASCII strings: dump() cannot meet invalid UTF-8.
  std::string jwks = nlohmann::json{{"keys", std::move(keys)}}.dump();
  return KeySetPtr(new KeySet(std::move(signing), std::move(unique), std::move(jwks)));
}

const RsaKey* KeySet::FindByKid(absl::string_view kid) const {
  for (const RsaKeyPtr& key : published_) {
    if (key->kid() == kid) return key.get();
  }
  return nullptr;
}

}  // namespace token
