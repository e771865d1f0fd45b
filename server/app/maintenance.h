// Maintenance: the server's once-a-second housekeeping. Each Tick probes the
// database (and measures this replica's clock against it, clock_offset.h),
// records the revocation feed's and the signing key's state in Readiness,
// mirrors readiness into the gRPC health status, prunes the RevocationSet and,
// at most once per sweep interval and only while the database answers, runs
// the Sweeper.
//
// Usage (server/app/server.cc):
//   Maintenance maintenance({.max_clock_offset = ...}, store, sweeper,
//                           readiness, revocations, keys, set_serving, clock);
//   maintenance.Start(absl::Seconds(1));  // background: Tick() every second
//   ...
//   maintenance.Stop();
#ifndef TOKEN_SERVER_APP_MAINTENANCE_H_
#define TOKEN_SERVER_APP_MAINTENANCE_H_

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/periodic_thread.h"
#include "server/health/readiness.h"
#include "server/keys/key_provider.h"
#include "server/session/revocation_set.h"
#include "server/session/sweeper.h"
#include "server/store/session_store.h"

namespace token {

class Maintenance {
 public:
  struct Options {
    // Beyond this offset from the database's clock the "clock" check fails.
    absl::Duration max_clock_offset;
    // The Sweeper runs at most this often; the first run is one interval
    // after construction.
    absl::Duration sweep_interval = absl::Minutes(1);
    // How long the database probe may take.
    absl::Duration database_timeout = absl::Seconds(1);
  };

  // SetServing sets the gRPC health service's overall status.
  using SetServing = std::function<void(bool serving)>;

  // Every reference must outlive this object; `sweeper` sweeps `store`.
  Maintenance(Options options, SessionStore& store, const Sweeper& sweeper, Readiness& readiness,
              RevocationSet& revocations, const KeyProvider& keys, SetServing set_serving,
              const Clock& clock);
  ~Maintenance();
  Maintenance(const Maintenance&) = delete;
  Maintenance& operator=(const Maintenance&) = delete;

  // Tick does one round at clock.Now().
  void Tick();

  // Start runs Tick() every `interval` on a background thread until Stop().
  // REQUIRES: called at most once.
  void Start(absl::Duration interval);
  // Stop ends the background thread after the round in progress; idempotent.
  void Stop();

 private:
  const Options options_;
  SessionStore& store_;
  const Sweeper& sweeper_;
  Readiness& readiness_;
  RevocationSet& revocations_;
  const KeyProvider& keys_;
  const SetServing set_serving_;
  const Clock& clock_;

  absl::Mutex mu_;  // Serialises Tick (the thread, and tests calling it).
  absl::Time next_sweep_ ABSL_GUARDED_BY(mu_);

  PeriodicThread ticker_;
};

}  // namespace token

#endif  // TOKEN_SERVER_APP_MAINTENANCE_H_
