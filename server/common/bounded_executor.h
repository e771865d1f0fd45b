// BoundedExecutor: a fixed set of worker threads with a bounded queue, for the
// blocking work (database calls, RSA signing) that must never run on gRPC's
// own threads. A full queue refuses new work at once instead of letting
// latency and memory grow without bound.
//
// Usage:
//   BoundedExecutor pool(/*threads=*/8, /*max_queued=*/512);
//   if (!pool.TrySubmit([] { DoBlockingWork(); })) Reject();
#ifndef TOKEN_SERVER_COMMON_BOUNDED_EXECUTOR_H_
#define TOKEN_SERVER_COMMON_BOUNDED_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace token {

class BoundedExecutor {
 public:
  BoundedExecutor(int threads, int max_queued);
  // Runs everything already queued, then joins the workers.
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // TrySubmit queues `task`; false (and `task` dropped) when the queue is full
  // or the executor is shutting down.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

  // queued returns how many tasks wait for a worker.
  int queued() const;

 private:
  void WorkerLoop();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_BOUNDED_EXECUTOR_H_
