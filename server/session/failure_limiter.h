// FailureLimiter: token buckets charged only by failed refresh attempts, keyed
// by session id or client address. A successful refresh is never refused by
// it: callers consult it only for tokens that cannot succeed (not issued by
// us, or of a session that is already dead), so guessing and replay floods
// are answered RESOURCE_EXHAUSTED while every live client carries on.
//
// Memory is bounded: at most `max_keys` buckets, split over `shards` shards
// (by key hash), each with its own lock and an equal share of the capacity.
// A full shard evicts its least recently charged bucket, so every call costs
// O(1) however many keys an attacker invents. The limiter fails open: a key
// without a bucket is never exhausted, because keys are attacker-chosen (a
// forged session id, a claimed client address) and a flood of them must not
// make the buckets of live sessions look exhausted. A key that keeps failing
// stays recently charged and so keeps its bucket; one that stops failing may
// be evicted and starts over with a full burst.
#ifndef TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_
#define TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

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
    // Most buckets kept at once (all shards together); 0 keeps none.
    size_t max_keys = 100000;
    // Independent locks; clamped to 1..max_keys so no shard has no room.
    size_t shards = 16;
  };

  // Stats: cumulative counters that show the cost of bounding memory.
  struct Stats {
    // Buckets dropped to make room for a new key.
    uint64_t evictions = 0;
    // Buckets looked at while choosing what to evict.
    uint64_t entries_examined = 0;
  };

  explicit FailureLimiter(Options options);
  ~FailureLimiter();

  FailureLimiter(const FailureLimiter&) = delete;
  FailureLimiter& operator=(const FailureLimiter&) = delete;

  // Exhausted is true when `key` has a bucket with no failures left at `now`;
  // a key without a bucket (never charged, or evicted) is not exhausted.
  bool Exhausted(absl::string_view key, absl::Time now) const;

  // RecordFailure charges one failure to `key`, making room for it if needed;
  // returns true if the key is now exhausted.
  bool RecordFailure(absl::string_view key, absl::Time now);

  // size is the number of buckets held; never more than options.max_keys.
  size_t size() const;

  Stats stats() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  struct Entry {
    std::string key;
    Bucket bucket;
  };
  // Shard: buckets in order of their last charge (front: least recent), and
  // an index into that list. The index's keys point into the list's nodes,
  // which never move.
  struct Shard {
    size_t capacity = 0;
    mutable absl::Mutex mu;
    std::list<Entry> order ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<absl::string_view, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
    Stats stats ABSL_GUARDED_BY(mu);
  };

  double Refilled(const Bucket& bucket, absl::Time now) const;
  Shard& ShardOf(absl::string_view key) const;

  const Options options_;
  // unique_ptr: a Shard holds a Mutex, which cannot move.
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_FAILURE_LIMITER_H_
