// FailureLimiter: token buckets charged only by failed refresh attempts, keyed
// by session id or client address. A successful refresh is never refused by
// it: callers consult it only for tokens that cannot succeed (not issued by
// us, or of a session that is already dead), so guessing and replay floods
// are answered RESOURCE_EXHAUSTED while every live client carries on.
//
// Memory is bounded: at most `max_keys` buckets. When full, buckets that have
// refilled are dropped first; a key that still finds no room counts as
// exhausted (safe, because only failing requests ever ask).
#ifndef TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_
#define TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace token {

class FailureLimiter {
 public:
  struct Options {
    // Failures a key may make in a burst; 0 disables the limiter.
    int limit = 20;
    // The bucket refills `limit` failures per `window`.
    absl::Duration window = absl::Minutes(1);
    size_t max_keys = 100000;
  };

  explicit FailureLimiter(Options options) : options_(options) {}

  // Exhausted is true when `key` has no failures left at `now`.
  bool Exhausted(absl::string_view key, absl::Time now) const;

  // RecordFailure charges one failure to `key`; returns true if the key is
  // now exhausted.
  bool RecordFailure(absl::string_view key, absl::Time now);

  size_t size() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  double Refilled(const Bucket& bucket, absl::Time now) const;
  void EvictRefilled(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_
