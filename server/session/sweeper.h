// Sweeper: deletes sessions that expired, or were revoked, longer ago than a
// retention period, in bounded batches so it never holds many locks or blocks
// refreshes (the batch statement skips rows other transactions hold).
#ifndef TOKEN_SERVER_SESSION_SWEEPER_H_
#define TOKEN_SERVER_SESSION_SWEEPER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/store/session_store.h"

namespace token {

struct SweeperOptions {
  // Kept this long past expiry/revocation so late callers still get
  // REFRESH_TOKEN_EXPIRED / SESSION_REVOKED rather than REFRESH_TOKEN_INVALID,
  // and revoked sessions stay visible in ListSessions.
  absl::Duration expired_retention = absl::Hours(24 * 7);
  absl::Duration revoked_retention = absl::Hours(24 * 7);
  int batch_size = 500;
  int max_batches_per_run = 100;
  absl::Duration batch_timeout = absl::Seconds(5);
};

class Sweeper {
 public:
  Sweeper(SweeperOptions options, SessionStore& store, const Clock& clock);

  // RunOnce deletes batches until one comes back short (or the per-run cap);
  // returns how many rows it deleted.
  absl::StatusOr<int64_t> RunOnce() const;

 private:
  const SweeperOptions options_;
  SessionStore& store_;
  const Clock& clock_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_SWEEPER_H_
