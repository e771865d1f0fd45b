// KeySet: an immutable snapshot of the keys in use — the one that signs new
// tokens and every one whose tokens still verify — plus their JWKS document.
// A reload builds a new KeySet and swaps the shared pointer; readers holding
// the old snapshot keep using it safely.
#ifndef TOKEN_SERVER_KEYS_KEY_SET_H_
#define TOKEN_SERVER_KEYS_KEY_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/keys/rsa_key.h"

namespace token {

class KeySet;
using KeySetPtr = std::shared_ptr<const KeySet>;

// KeySet holds the signing key and the published keys. Immutable; safe to
// share across threads.
//
// Usage:
//   absl::StatusOr<KeySetPtr> keys = KeySet::Create(newest, {older, newest});
//   SignAccessToken(claims, (*keys)->signing_key());
//   const RsaKey* key = (*keys)->FindByKid(kid_from_header);
class KeySet {
 public:
  // Create builds a snapshot. `signing` signs new tokens; `published` lists
  // every key whose tokens verify and which appears in the JWKS. `signing` is
  // appended to `published` when absent. Keys with the same kid (the same
  // public key) are listed once, first occurrence kept.
  // Fails with INVALID_ARGUMENT when `signing` or any published key is null.
  [[nodiscard]] static absl::StatusOr<KeySetPtr> Create(RsaKeyPtr signing,
                                                        std::vector<RsaKeyPtr> published);

  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  // signing_key returns the key that signs new tokens.
  const RsaKey& signing_key() const { return *signing_; }

  // FindByKid returns the published key with `kid`, or nullptr if unknown.
  // NOTE: a linear scan; a key set holds a handful of keys.
  const RsaKey* FindByKid(absl::string_view kid) const;

  // published returns every published key, in the order given to Create.
  const std::vector<RsaKeyPtr>& published() const { return published_; }

  // jwks_json returns the RFC 7517 JWK Set {"keys":[...]} of the published
  // keys' public JWKs, computed once in Create.
  const std::string& jwks_json() const { return jwks_json_; }

 private:
  KeySet(RsaKeyPtr signing, std::vector<RsaKeyPtr> published, std::string jwks_json);

  const RsaKeyPtr signing_;
  const std::vector<RsaKeyPtr> published_;
  const std::string jwks_json_;
};

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_SET_H_
