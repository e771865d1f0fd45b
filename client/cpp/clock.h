// Clock: where the client reads the time and sleeps between retries. Tests
// inject a fake that advances on SleepFor, so retry and deadline behaviour is
// checked without sleeping.
#ifndef TOKEN_CLIENT_CPP_CLOCK_H_
#define TOKEN_CLIENT_CPP_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace token::client {

class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current time.
  virtual absl::Time Now() = 0;
  // SleepFor blocks the calling thread for `duration`.
  virtual void SleepFor(absl::Duration duration) = 0;
};

// SystemClock returns the process-wide real clock.
inline Clock& SystemClock() {
  class Real final : public Clock {
   public:
    absl::Time Now() override { return absl::Now(); }
    void SleepFor(absl::Duration duration) override { absl::SleepFor(duration); }
  };
  static Real* const clock = new Real();
  return *clock;
}

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_CLOCK_H_
