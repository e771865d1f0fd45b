// Key rotation: which signing key is next, active, retiring or retired at a
// given instant, derived only from each key's creation time and two
// durations (docs/KEY_ROTATION.md). Every replica that sees the same key files
// and agrees on the time computes the same answer, with no coordination.
//
//   created            created + publish_period        successor active + retire_after
//      |---- next -------|------ active ------|-- retiring --|-- retired (dropped) -->
//      (published, verifies)   (signs)          (verifies, published)
#ifndef TOKEN_SERVER_KEYS_KEY_ROTATION_H_
#define TOKEN_SERVER_KEYS_KEY_ROTATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"

namespace token {

// KeyState is where a key stands in its lifecycle.
enum class KeyState {
  // kNext: published in the JWKS and accepted for verification, not signing
  // yet (created less than the publish period ago).
  kNext,
  // kActive: signs new tokens; published.
  kActive,
  // kRetiring: replaced by a newer key, still published until every token it
  // signed has expired.
  kRetiring,
  // kRetired: no token it signed is still valid; neither published nor
  // accepted. Its file may be deleted.
  kRetired,
};

// KeyStateName returns "next", "active", "retiring" or "retired".
absl::string_view KeyStateName(KeyState state);

// DatedKey is a loaded key with the creation time its file name carries.
struct DatedKey {
  RsaKeyPtr key;
  absl::Time created;
  // file: the file name (no directory), for logs and tie-breaking.
  std::string file;
};

// RotationPolicy holds the two durations the schedule follows.
struct RotationPolicy {
  // publish_period: how long a new key is published before it signs. Must
  // cover the JWKS cache lifetime plus the time a new key takes to reach
  // every replica (--key-publish-period).
  absl::Duration publish_period = absl::Hours(1);
  // retire_after: how long a key stays published after it stopped signing:
  // the access-token lifetime plus the verifier's clock-skew leeway.
  absl::Duration retire_after = absl::Minutes(15) + absl::Seconds(30);
};

// KeyStatus describes one key at the evaluated instant.
struct KeyStatus {
  std::string kid;
  std::string file;
  KeyState state = KeyState::kNext;
  absl::Time created;
  // activates_at: created + publish_period.
  absl::Time activates_at;
  // retires_at: the next key's activation + retire_after; InfiniteFuture for
  // the newest key.
  absl::Time retires_at = absl::InfiniteFuture();

  friend bool operator==(const KeyStatus&, const KeyStatus&) = default;
};

// KeyRotation is the outcome of EvaluateKeyRotation.
struct KeyRotation {
  // key_set: signs with the active key, hands over to each next key at its
  // activation time, publishes next, active and retiring keys (oldest first).
  KeySetPtr key_set;
  // keys: every distinct input key, oldest first, with its state.
  std::vector<KeyStatus> keys;
};

// EvaluateKeyRotation computes the key states at `now`:
//   * Keys are ordered by creation time, then file name; a key whose kid
//     appeared earlier in that order (the same key in two files) is dropped.
//   * A key activates at created + publish_period. The active key is the
//     newest key whose activation time has passed; newer keys are next.
//   * Bootstrap: when no key has reached its activation time, the oldest key
//     is active at once (no verifier can have cached anything yet).
//   * A key older than the active one retires at its successor's activation
//     time + retire_after: retiring before, retired from then on.
// A pure function of its arguments. Fails with NOT_FOUND when `keys` is
// empty, INVALID_ARGUMENT for a null key, a non-finite creation time or a
// negative duration.
// NOTE: does not read files or clocks; does not check that keys can sign.
[[nodiscard]] absl::StatusOr<KeyRotation> EvaluateKeyRotation(std::vector<DatedKey> keys,
                                                              absl::Time now,
                                                              const RotationPolicy& policy);

// JwksMaxAge returns how long clients may cache the JWKS: half the publish
// period, in whole seconds. A cache filled just before a new key appeared then
// expires at least half a period before that key signs, leaving the other
// half for the key to reach every replica.
absl::Duration JwksMaxAge(absl::Duration publish_period);

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_ROTATION_H_
