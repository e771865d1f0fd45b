// Clock: the one source of "now" for core code, so expiry logic is tested by
// moving a fake clock (tests/common/fake_clock.h) instead of sleeping.
#ifndef TOKEN_SERVER_COMMON_CLOCK_H_
#define TOKEN_SERVER_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace token {

// Clock is injected into everything that needs the current time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// RealClock reads the system wall clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_CLOCK_H_
