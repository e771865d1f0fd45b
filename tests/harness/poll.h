#ifndef TOKEN_TESTS_HARNESS_POLL_H_
#define TOKEN_TESTS_HARNESS_POLL_H_

#include <algorithm>
#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace token::testing {

// Calls `condition` until it returns true or `timeout` has elapsed, sleeping
// `interval` between attempts. The condition is always evaluated at least once
// and once more at the deadline, so a zero timeout is a single check. Returns
// whether the condition became true. Use this instead of sleeping a fixed time
// and hoping something happened.
inline bool PollUntil(std::function<bool()> condition, absl::Duration timeout,
                      absl::Duration interval = absl::Milliseconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    const absl::Time now = absl::Now();
    if (now >= deadline) return false;
    absl::SleepFor(std::min(interval, deadline - now));
  }
}

}  // namespace token::testing

#endif  // TOKEN_TESTS_HARNESS_POLL_H_
