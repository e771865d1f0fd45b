#include "server/session/sweeper.h"

namespace token {

Sweeper::Sweeper(SweeperOptions options, SessionStore& store, const Clock& clock)
    : options_(options), store_(store), clock_(clock) {}

absl::StatusOr<int64_t> Sweeper::RunOnce() const {
  int64_t total = 0;
  for (int i = 0; i < options_.max_batches_per_run; ++i) {
    const absl::Time now = clock_.Now();
    absl::StatusOr<int64_t> deleted =
        store_.SweepExpired(now - options_.expired_retention, now - options_.revoked_retention,
                            options_.batch_size, now + options_.batch_timeout);
    if (!deleted.ok()) return deleted.status();
    total += *deleted;
    if (*deleted < options_.batch_size) break;
  }
  return total;
}

}  // namespace token
