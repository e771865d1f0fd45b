#include "server/app/maintenance.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/health/clock_offset.h"

namespace token {

Maintenance::Maintenance(Options options, SessionStore& store, const Sweeper& sweeper,
                         Readiness& readiness, RevocationSet& revocations, const KeyProvider& keys,
                         SetServing set_serving, const Clock& clock)
    : options_(options),
      store_(store),
      sweeper_(sweeper),
      readiness_(readiness),
      revocations_(revocations),
      keys_(keys),
      set_serving_(std::move(set_serving)),
      clock_(clock),
      next_sweep_(clock.Now() + options.sweep_interval) {}

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Tick() {
  absl::MutexLock lock(&mu_);
  // The database check also measures this replica's clock against it.
  // The deadline is on the injected clock: the real one in production.
  const absl::Time sent = clock_.Now();
  const absl::StatusOr<absl::Time> db_clock =
      store_.DatabaseClock(sent + options_.database_timeout);
  const absl::Status db = db_clock.status();
  readiness_.Set("database", db.ok(), db.ok() ? "ok" : std::string(db.message()));
  if (db_clock.ok()) {
    const ClockOffsetCheck offset =
        CheckClockOffset(sent, clock_.Now(), *db_clock, options_.max_clock_offset);
    if (!offset.ok) {
      Log(LogLevel::kError, "clock offset from the database is beyond the bound",
          {{"detail", offset.detail}});
    }
    readiness_.Set("clock", offset.ok, offset.detail);
  }
  const bool feed_in_sync = revocations_.InSync(clock_.Now());
  readiness_.Set("revocation_feed", feed_in_sync, feed_in_sync ? "in sync" : "resynchronising");
  set_serving_(readiness_.ready());
  readiness_.Set("signing_key", true, keys_.Current()->SigningKeyAt(clock_.Now()).kid());
  revocations_.Prune(clock_.Now());
  if (clock_.Now() >= next_sweep_ && db.ok()) {
    next_sweep_ = clock_.Now() + options_.sweep_interval;
    absl::StatusOr<int64_t> swept = sweeper_.RunOnce();
    if (swept.ok() && *swept > 0) {
      Log(LogLevel::kInfo, "swept sessions", {{"deleted", absl::StrCat(*swept)}});
    }
  }
}

void Maintenance::Start(absl::Duration interval) {
  ticker_.Start(interval, [this] { Tick(); });
}

void Maintenance::Stop() { ticker_.Stop(); }

}  // namespace token
