#include "server/health/clock_offset.h"

#include "absl/strings/str_cat.h"

namespace token {

ClockOffsetCheck CheckClockOffset(absl::Time sent, absl::Time received, absl::Time database,
                                  absl::Duration max_offset) {
  ClockOffsetCheck check;
  check.uncertainty = (received - sent) / 2;
  check.offset = (sent + check.uncertainty) - database;
  check.ok = absl::AbsDuration(check.offset) <= max_offset;
  check.detail = absl::StrCat("offset ", absl::FormatDuration(check.offset), " (±",
                              absl::FormatDuration(check.uncertainty), "), tolerated ",
                              absl::FormatDuration(max_offset), " (--max-clock-offset)");
  return check;
}

}  // namespace token
