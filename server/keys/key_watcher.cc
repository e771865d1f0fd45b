#include "server/keys/key_watcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/keys/key_directory.h"

namespace token {
namespace {

std::string TimeText(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

const KeyStatus* FindStatus(const std::vector<KeyStatus>& statuses, const std::string& kid) {
  for (const KeyStatus& status : statuses) {
    if (status.kid == kid) return &status;
  }
  return nullptr;
}

bool HasKid(const std::vector<DatedKey>& keys, const std::string& kid) {
  return std::any_of(keys.begin(), keys.end(),
                     [&kid](const DatedKey& key) { return key.key->kid() == kid; });
}

bool HasFile(const std::vector<DatedKey>& keys, const std::string& file) {
  return std::any_of(keys.begin(), keys.end(),
                     [&file](const DatedKey& key) { return key.file == file; });
}

// LogTransitions reports, per key, what changed between two evaluations.
// Key ids are public (they are in the JWKS); file names are not secret.
void LogTransitions(const std::vector<KeyStatus>& before, const std::vector<KeyStatus>& after) {
  for (const KeyStatus& now : after) {
    const KeyStatus* was = FindStatus(before, now.kid);
    if (was != nullptr && was->state == now.state) continue;
    Log(LogLevel::kInfo, was == nullptr ? "signing key loaded" : "signing key state changed",
        {{"kid", now.kid},
         {"file", now.file},
         {"state", std::string(KeyStateName(now.state))},
         {"previous", was == nullptr ? "" : std::string(KeyStateName(was->state))},
         {"activates_at", TimeText(now.activates_at)},
         {"retires_at", TimeText(now.retires_at)}});
  }
  for (const KeyStatus& was : before) {
    if (FindStatus(after, was.kid) != nullptr) continue;
    const bool premature = was.state == KeyState::kActive || was.state == KeyState::kRetiring;
    Log(premature ? LogLevel::kWarning : LogLevel::kInfo,
        premature ? "signing key removed while tokens it signed are still valid; they no longer "
                    "verify"
                  : "signing key removed",
        {{"kid", was.kid}, {"file", was.file}, {"state", std::string(KeyStateName(was.state))}});
  }
}

}  // namespace

KeyWatcher::KeyWatcher(Options options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

KeyWatcher::~KeyWatcher() { Stop(); }

absl::StatusOr<std::unique_ptr<KeyWatcher>> KeyWatcher::Create(Options options,
                                                               const Clock& clock) {
  std::unique_ptr<KeyWatcher> watcher(new KeyWatcher(std::move(options), clock));
  absl::MutexLock lock(&watcher->mu_);
  const absl::Time now = clock.Now();
  const std::string& dir = watcher->options_.dir;
  absl::StatusOr<std::string> fingerprint = KeyDirectoryFingerprint(dir);
  if (!fingerprint.ok()) return fingerprint.status();
  absl::StatusOr<std::vector<DatedKey>> keys = LoadKeyFiles(dir);
  if (!keys.ok()) return keys.status();
  absl::StatusOr<KeyRotation> rotation = EvaluateKeyRotation(*keys, now, watcher->options_.policy);
  if (!rotation.ok()) return rotation.status();
  for (const DatedKey& key : *keys) {
    if (!KeyFileCreatedTime(key.file).has_value()) {
      Log(LogLevel::kWarning,
          "key file name carries no creation time; the key counts as created at the Unix epoch",
          {{"file", key.file}});
    }
  }
  LogTransitions({}, rotation->keys);
  watcher->provider_ = std::make_unique<KeyProvider>(rotation->key_set);
  watcher->loaded_ = *std::move(keys);
  watcher->statuses_ = std::move(rotation->keys);
  watcher->changes_.Applied(*std::move(fingerprint));
  watcher->next_poll_ = now + watcher->options_.poll_interval;
  watcher->stats_.loads = 1;
  return watcher;
}

absl::Status KeyWatcher::Reload() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  absl::Status status = LoadLocked("sighup", now);
  EvaluateLocked(now);
  return status;
}

void KeyWatcher::Tick() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (now >= next_poll_) {
    next_poll_ = now + options_.poll_interval;
    absl::StatusOr<std::string> fingerprint = KeyDirectoryFingerprint(options_.dir);
    if (!fingerprint.ok()) {
      const std::string error(fingerprint.status().message());
      if (changes_.ReadFailed(error)) {
        ++stats_.load_failures;
        Log(LogLevel::kError, "cannot check the key directory; keeping the current keys",
            {{"dir", options_.dir}, {"error", error}});
      }
    } else {
      changes_.ReadSucceeded();
      // Any difference from the last read reloads, even back to the keys in
      // use, so removing a broken file is logged as a load.
      if (!changes_.IsLatest(*fingerprint)) (void)LoadLocked("change", now);
    }
  }
  EvaluateLocked(now);
}

absl::Status KeyWatcher::LoadLocked(absl::string_view trigger, absl::Time now) {
  // Fingerprint before reading: a file that changes during the read differs
  // from this fingerprint and is read again at the next poll.
  absl::StatusOr<std::string> fingerprint = KeyDirectoryFingerprint(options_.dir);
  absl::StatusOr<std::vector<DatedKey>> keys =
      fingerprint.ok() ? LoadKeyFiles(options_.dir) : fingerprint.status();
  absl::StatusOr<KeyRotation> rotation =
      keys.ok() ? EvaluateKeyRotation(*keys, now, options_.policy) : keys.status();
  // A broken directory is reported once per change, not on every poll.
  if (!rotation.ok()) {
    if (fingerprint.ok()) changes_.Rejected(*std::move(fingerprint));
    ++stats_.load_failures;
    // Load errors name the file, never its contents (key_directory.h).
    Log(LogLevel::kError, "key reload failed; keeping the current keys",
        {{"trigger", std::string(trigger)},
         {"dir", options_.dir},
         {"error", std::string(rotation.status().message())}});
    return rotation.status();
  }
  for (const DatedKey& key : *keys) {
    if (!HasFile(loaded_, key.file) && !KeyFileCreatedTime(key.file).has_value()) {
      Log(LogLevel::kWarning,
          "key file name carries no creation time; the key counts as created at the Unix epoch",
          {{"file", key.file}});
    }
  }
  for (const KeyStatus& status : rotation->keys) {
    if (status.state == KeyState::kActive && !HasKid(loaded_, status.kid)) {
      Log(LogLevel::kWarning,
          "a new key signs as soon as it appeared (its publish period had already passed); "
          "verifiers holding a cached JWKS reject its tokens until they refetch",
          {{"kid", status.kid}, {"file", status.file}});
    }
  }
  changes_.Applied(*std::move(fingerprint));
  loaded_ = *std::move(keys);
  ++stats_.loads;
  Log(LogLevel::kInfo, "key directory loaded",
      {{"trigger", std::string(trigger)},
       {"dir", options_.dir},
       {"keys", absl::StrCat(loaded_.size())}});
  return absl::OkStatus();
}

void KeyWatcher::EvaluateLocked(absl::Time now) {
  absl::StatusOr<KeyRotation> rotation = EvaluateKeyRotation(loaded_, now, options_.policy);
  if (!rotation.ok()) {
    // Unreachable with a loaded set (never empty, finite times); keep serving.
    Log(LogLevel::kError, "cannot evaluate key states; keeping the current keys",
        {{"error", std::string(rotation.status().message())}});
    return;
  }
  if (rotation->keys == statuses_) return;
  LogTransitions(statuses_, rotation->keys);
  provider_->Replace(rotation->key_set);
  statuses_ = std::move(rotation->keys);
  ++stats_.replacements;
}

void KeyWatcher::Start() {
  ticker_.Start(options_.tick_interval, [this] { Tick(); });
}

void KeyWatcher::Stop() { ticker_.Stop(); }

std::vector<KeyStatus> KeyWatcher::statuses() const {
  absl::MutexLock lock(&mu_);
  return statuses_;
}

KeyWatcher::Stats KeyWatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace token
