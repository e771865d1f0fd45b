// FakeClock: a Clock that tests set and advance instead of sleeping.
// Test-only: tests/CMakeLists.txt defines TOKEN_TEST_ONLY for every target
// under tests/, so production code that includes this fails to compile.
#ifndef TOKEN_TESTS_COMMON_FAKE_CLOCK_H_
#define TOKEN_TESTS_COMMON_FAKE_CLOCK_H_

#ifndef TOKEN_TEST_ONLY
#error "tests/common/fake_clock.h is for tests only"
#endif

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace token {

// FakeClock is set and advanced by tests; thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token

#endif  // TOKEN_TESTS_COMMON_FAKE_CLOCK_H_
