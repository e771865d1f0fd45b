// KeyWatcher: keeps the KeyProvider's key set in step with the key directory
// and the clock, without a restart. It re-evaluates key states as time passes
// (next → active → retiring → retired, see key_rotation.h), notices changed
// key files by polling a cheap fingerprint of the directory, and reloads on
// demand (SIGHUP). A load that fails is logged (file name, never contents)
// and the keys in use are kept.
#ifndef TOKEN_SERVER_KEYS_KEY_WATCHER_H_
#define TOKEN_SERVER_KEYS_KEY_WATCHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/file_change_detector.h"
#include "server/common/periodic_thread.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_rotation.h"

namespace token {

// KeyWatcher owns the KeyProvider that signing and verification read.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<KeyWatcher>> watcher =
//       KeyWatcher::Create({.dir = key_dir, .policy = policy}, clock);
//   SessionService sessions(..., (*watcher)->provider(), ...);
//   (*watcher)->Start();            // background: Tick() every tick_interval
//   ... on SIGHUP: (*watcher)->Reload();
//   (*watcher)->Stop();
class KeyWatcher {
 public:
  struct Options {
    // dir: the key directory (see key_directory.h).
    std::string dir;
    RotationPolicy policy;
    // poll_interval: how often Tick() checks the directory's fingerprint.
    absl::Duration poll_interval = absl::Seconds(2);
    // tick_interval: how often the background thread calls Tick().
    absl::Duration tick_interval = absl::Seconds(1);
  };

  // Stats count what the watcher did, for tests and metrics.
  struct Stats {
    // loads: directory reads that produced a key set in use.
    int64_t loads = 0;
    // load_failures: directory reads rejected (the previous keys were kept).
    int64_t load_failures = 0;
    // replacements: times a new key set was handed to the provider.
    int64_t replacements = 0;
  };

  // Create loads `options.dir` once and evaluates it at clock.Now(). Fails
  // when the directory does not load: a server must not start without keys.
  // `clock` must outlive the watcher.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KeyWatcher>> Create(Options options,
                                                                          const Clock& clock);
  ~KeyWatcher();
  KeyWatcher(const KeyWatcher&) = delete;
  KeyWatcher& operator=(const KeyWatcher&) = delete;

  // provider returns the provider whose key set this watcher keeps current.
  const KeyProvider& provider() const { return *provider_; }

  // Reload re-reads the directory now, whether or not it looks changed, and
  // re-evaluates. On failure the keys in use are kept and the error, which
  // names the file but never its contents, is logged and returned.
  absl::Status Reload();

  // Tick re-evaluates key states at clock.Now(), first re-reading the
  // directory when poll_interval has passed since the last check and its
  // fingerprint differs from the last one read (a broken directory is
  // reported once per change, not on every poll).
  void Tick();

  // Start runs Tick() every tick_interval on a background thread until Stop().
  // REQUIRES: called at most once.
  void Start();
  // Stop ends the background thread; idempotent.
  void Stop();

  // statuses returns every loaded key with its state at the last evaluation.
  std::vector<KeyStatus> statuses() const;
  Stats stats() const;

 private:
  KeyWatcher(Options options, const Clock& clock);

  // Load reads the directory; on success it becomes the loaded set.
  absl::Status LoadLocked(absl::string_view trigger, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evaluate computes states at `now` and replaces the provider's set when
  // they differ from the last evaluation.
  void EvaluateLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Clock& clock_;
  std::unique_ptr<KeyProvider> provider_;

  mutable absl::Mutex mu_;
  std::vector<DatedKey> loaded_ ABSL_GUARDED_BY(mu_);
  std::vector<KeyStatus> statuses_ ABSL_GUARDED_BY(mu_);
  // changes_: the directory's fingerprint as last read, successfully or not,
  // and the last fingerprint failure (logged once).
  FileChangeDetector changes_ ABSL_GUARDED_BY(mu_);
  absl::Time next_poll_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);

  PeriodicThread ticker_;
};

}  // namespace token

#endif  // TOKEN_SERVER_KEYS_KEY_WATCHER_H_
