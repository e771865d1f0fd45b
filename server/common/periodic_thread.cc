#include "server/common/periodic_thread.h"

#include <utility>

namespace token {

void PeriodicThread::Start(absl::Duration interval, std::function<void()> run) {
  thread_ = std::thread([this, interval, run = std::move(run)] {
    while (!stop_.WaitForNotificationWithTimeout(interval)) run();
  });
}

void PeriodicThread::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace token
