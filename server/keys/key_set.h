// KeySet: an immutable snapshot of the keys in use — the one that signs new
// tokens, the keys scheduled to take over signing, and every key whose tokens
// still verify — plus their JWKS document and its entity tag. A reload builds
// a new KeySet and swaps the shared pointer; readers holding the old snapshot
// keep using it safely.
#ifndef TOKEN_SERVER_KEYS_KEY_SET_H_
#define TOKEN_SERVER_KEYS_KEY_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/keys/rsa_key.h"

namespace token {

class KeySet;
using KeySetPtr = std::shared_ptr<const KeySet>;

// KeySet holds the signing key, its scheduled successors and the published
// keys. Immutable; safe to share across threads.
//
// Usage:
//   absl::StatusOr<KeySetPtr> keys = KeySet::Create(current, {older, current, next},
//                                                   {{next, next_activation}});
//   SignAccessToken(claims, (*keys)->SigningKeyAt(now));
//   const RsaKey* key = (*keys)->FindByKid(kid_from_header);
class KeySet {
 public:
  // Handover schedules `key` to sign every token from `at` on.
  struct Handover {
    RsaKeyPtr key;
    absl::Time at;
  };

  // Create builds a snapshot. `signing` signs new tokens until the first
  // handover's time; each handover's key signs from its time on (handovers
  // are sorted by time here). `published` lists every key whose tokens verify
  // and which appears in the JWKS, in JWKS order. `signing` and every handover
  // key are appended to `published` when absent. Keys with the same kid (the
  // same public key) are listed once, first occurrence kept.
  // Fails with INVALID_ARGUMENT when `signing`, a published key or a handover
  // key is null, or when a handover time is not finite.
  // NOTE: does not check that the signing keys have a private half; signing
  // with a public-only key fails in SignAccessToken.
  [[nodiscard]] static absl::StatusOr<KeySetPtr> Create(RsaKeyPtr signing,
                                                        std::vector<RsaKeyPtr> published,
                                                        std::vector<Handover> handovers = {});

  // CreateForVerification builds a set that only verifies, e.g. from the keys
  // ParseJwks returned: all of `published` verify; signing_key() is the first
  // of them, which cannot sign when it is public-only.
  // Fails with INVALID_ARGUMENT when `published` is empty or holds null.
  [[nodiscard]] static absl::StatusOr<KeySetPtr> CreateForVerification(
      std::vector<RsaKeyPtr> published);

  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  // signing_key returns the key that signed when the set was built, before
  // any handover. Code that signs uses SigningKeyAt.
  const RsaKey& signing_key() const { return *signing_; }

  // SigningKeyAt returns the key that signs at `now`: the key of the latest
  // handover whose time is <= now, else signing_key(). Handovers make a
  // scheduled key switch exact to the instant, however late the snapshot is
  // rebuilt.
  const RsaKey& SigningKeyAt(absl::Time now) const;

  // handovers returns the scheduled handovers, earliest first.
  const std::vector<Handover>& handovers() const { return handovers_; }

  // FindByKid returns the published key with `kid`, or nullptr if unknown.
  // NOTE: a linear scan; a key set holds a handful of keys.
  const RsaKey* FindByKid(absl::string_view kid) const;

  // published returns every published key, in the order given to Create.
  const std::vector<RsaKeyPtr>& published() const { return published_; }

  // jwks_json returns the RFC 7517 JWK Set {"keys":[...]} of the published
  // keys' public JWKs, computed once in Create.
  const std::string& jwks_json() const { return jwks_json_; }

  // jwks_etag returns the strong entity tag (with its quotes) of jwks_json():
  // base64url of the first 128 bits of its SHA-256. Equal documents have equal
  // tags on every replica; any change to the published keys changes it.
  const std::string& jwks_etag() const { return jwks_etag_; }

 private:
  KeySet(RsaKeyPtr signing, std::vector<Handover> handovers, std::vector<RsaKeyPtr> published,
         std::string jwks_json, std::string jwks_etag);

  const RsaKeyPtr signing_;
  const std::vector<Handover> handovers_;
  const std::vector<RsaKeyPtr> published_;
  const std::string jwks_json_;
  const std::string jwks_etag_;
};

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_SET_H_
