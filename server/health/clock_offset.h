// ClockOffset: how far this replica's clock is from the database's, measured
// by one round trip. Refresh grace, idle and absolute expiry are decided on
// times the replicas write, so the service bounds the offset it tolerates
// (--max-clock-offset): beyond it the replica is not ready, and the store
// refuses its refreshes (migrations/0003_security.sql).
#ifndef TOKEN_SERVER_HEALTH_CLOCK_OFFSET_H_
#define TOKEN_SERVER_HEALTH_CLOCK_OFFSET_H_

#include <string>

#include "absl/time/time.h"

namespace token {

// ClockOffsetCheck: the outcome of one measurement.
struct ClockOffsetCheck {
  // Local minus database time, taking the database's reading to have been
  // made halfway through the round trip.
  absl::Duration offset;
  // Half the round trip: the measurement's own uncertainty.
  absl::Duration uncertainty;
  // |offset| is within the tolerated bound. NOTE: the uncertainty is not
  // added, so a slow round trip alone does not make a replica unready.
  bool ok = false;
  // For /readyz: the offset and the bound, never anything secret.
  std::string detail;
};

// CheckClockOffset measures from a query sent at local time `sent`, answered
// at local time `received` with the database's clock `database`.
ClockOffsetCheck CheckClockOffset(absl::Time sent, absl::Time received, absl::Time database,
                                  absl::Duration max_offset);

}  // namespace token

#endif  // TOKEN_SERVER_HEALTH_CLOCK_OFFSET_H_
