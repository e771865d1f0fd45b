// SingleFlight: concurrent callers asking for the same key share one call.
// The first caller for a key runs the work; callers arriving while it runs
// wait and receive a copy of its result; the next caller after it finished
// starts a new call. This is what a browser client does with its refresh
// token: while a refresh is in flight, other requests that need one queue
// behind it instead of racing it.
//
// Usage:
//   SingleFlight<std::string, Result<TokenPair>> flights;
//   std::optional<Result<TokenPair>> r =
//       flights.Do(refresh_token, max_wait, [&] { return DoRefresh(refresh_token); });
//   if (!r.has_value()) { /* waited `max_wait` for another caller's call in vain */ }
//
// NOTE: a waiter gives up after its own `max_wait` (Do returns nullopt); the
// call it was waiting for still completes for the caller running it.
#ifndef TOKEN_CLIENT_CPP_SINGLE_FLIGHT_H_
#define TOKEN_CLIENT_CPP_SINGLE_FLIGHT_H_

#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace token::client {

template <typename Key, typename Value>
class SingleFlight {
 public:
  SingleFlight() = default;
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  // Do runs `work` unless a call for `key` is already running, in which case
  // it waits up to `max_wait` for that call's result and returns nullopt if it
  // does not arrive in time. `work` runs on the calling thread.
  std::optional<Value> Do(const Key& key, absl::Duration max_wait,
                          absl::FunctionRef<Value()> work) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      auto [it, inserted] = flights_.try_emplace(key);
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
      if (!leader) ++flight->followers;
    }
    if (!leader) {
      if (!flight->done.WaitForNotificationWithTimeout(max_wait)) return std::nullopt;
      return flight->value;  // Written before Notify(): safe to read after the wait.
    }
    Value value = work();
    {
      absl::MutexLock lock(&mu_);
      flight->value = value;
      flights_.erase(key);
    }
    flight->done.Notify();
    return value;
  }

  // Followers returns how many callers are waiting on the running call for
  // `key` (0 when none runs). For tests and metrics.
  int Followers(const Key& key) const {
    absl::MutexLock lock(&mu_);
    auto it = flights_.find(key);
    return it == flights_.end() ? 0 : it->second->followers;
  }

 private:
  struct Flight {
    absl::Notification done;
    std::optional<Value> value;
    int followers = 0;  // Guarded by the owner's mu_.
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_SINGLE_FLIGHT_H_
