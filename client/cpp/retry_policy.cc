#include "client/cpp/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace token::client {

absl::Duration RetryPolicy::Backoff(int retry, double unit_random) const {
  if (retry < 1) return absl::ZeroDuration();
  const double growth = std::pow(std::max(multiplier, 1.0), retry - 1);
  const double base_s =
      std::min(absl::ToDoubleSeconds(initial_backoff) * growth, absl::ToDoubleSeconds(max_backoff));
  const double spread = std::clamp(jitter, 0.0, 1.0);
  const double factor = 1.0 - spread + 2.0 * spread * std::clamp(unit_random, 0.0, 1.0);
  return absl::Seconds(std::max(base_s * factor, 0.0));
}

}  // namespace token::client
