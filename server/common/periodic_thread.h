// PeriodicThread: runs a function every `interval` on a thread of its own
// until Stop() or destruction. The first run is one interval after Start, and
// Stop waits for a run in progress, so nothing the function uses may go away
// before Stop returns.
//
// Usage:
//   PeriodicThread ticker;
//   ticker.Start(absl::Seconds(1), [this] { Tick(); });
//   ...
//   ticker.Stop();  // or let the destructor do it
#ifndef TOKEN_SERVER_COMMON_PERIODIC_THREAD_H_
#define TOKEN_SERVER_COMMON_PERIODIC_THREAD_H_

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace token {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Start runs `run` every `interval` until Stop. REQUIRES: not started yet.
  void Start(absl::Duration interval, std::function<void()> run);

  // Stop ends the thread after the run in progress, if any; idempotent.
  void Stop();

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_PERIODIC_THREAD_H_
