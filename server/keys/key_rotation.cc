#include "server/keys/key_rotation.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"

namespace token {

absl::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kNext:
      return "next";
    case KeyState::kActive:
      return "active";
    case KeyState::kRetiring:
      return "retiring";
    case KeyState::kRetired:
      return "retired";
  }
  return "unknown";
}

absl::StatusOr<KeyRotation> EvaluateKeyRotation(std::vector<DatedKey> keys, absl::Time now,
                                                const RotationPolicy& policy) {
  if (keys.empty()) return absl::NotFoundError("no signing key");
  if (policy.publish_period < absl::ZeroDuration() || policy.retire_after < absl::ZeroDuration() ||
      policy.publish_period == absl::InfiniteDuration() ||
      policy.retire_after == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("rotation durations must be finite and non-negative");
  }
  for (const DatedKey& key : keys) {
    if (key.key == nullptr) return absl::InvalidArgumentError("null signing key");
    if (key.created == absl::InfiniteFuture() || key.created == absl::InfinitePast()) {
      return absl::InvalidArgumentError("key creation time must be finite");
    }
  }
  std::stable_sort(keys.begin(), keys.end(), [](const DatedKey& a, const DatedKey& b) {
    if (a.created != b.created) return a.created < b.created;
    return a.file < b.file;
  });
  // The same key in two files counts once, from its oldest file.
  std::vector<DatedKey> distinct;
  distinct.reserve(keys.size());
  for (DatedKey& key : keys) {
    const bool seen = std::any_of(distinct.begin(), distinct.end(), [&key](const DatedKey& kept) {
      return kept.key->kid() == key.key->kid();
    });
    if (!seen) distinct.push_back(std::move(key));
  }

  const size_t count = distinct.size();
  // The newest key whose activation time has passed signs; index 0 when none
  // has (bootstrap).
  size_t active = 0;
  for (size_t i = 0; i < count; ++i) {
    if (distinct[i].created + policy.publish_period <= now) active = i;
  }

  KeyRotation out;
  out.keys.reserve(count);
  std::vector<RsaKeyPtr> published;
  std::vector<KeySet::Handover> handovers;
  for (size_t i = 0; i < count; ++i) {
    KeyStatus status;
    status.kid = distinct[i].key->kid();
    status.file = distinct[i].file;
    status.created = distinct[i].created;
    status.activates_at = distinct[i].created + policy.publish_period;
    if (i + 1 < count) {
      status.retires_at = distinct[i + 1].created + policy.publish_period + policy.retire_after;
    }
    if (i > active) {
      status.state = KeyState::kNext;
      handovers.push_back({distinct[i].key, status.activates_at});
    } else if (i == active) {
      status.state = KeyState::kActive;
    } else {
      status.state = now >= status.retires_at ? KeyState::kRetired : KeyState::kRetiring;
    }
    if (status.state != KeyState::kRetired) published.push_back(distinct[i].key);
    out.keys.push_back(std::move(status));
  }
  absl::StatusOr<KeySetPtr> set =
      KeySet::Create(distinct[active].key, std::move(published), std::move(handovers));
  if (!set.ok()) return set.status();
  out.key_set = *std::move(set);
  return out;
}

absl::Duration JwksMaxAge(absl::Duration publish_period) {
  return absl::Seconds(absl::ToInt64Seconds(std::max(publish_period, absl::ZeroDuration()) / 2));
}

}  // namespace token
