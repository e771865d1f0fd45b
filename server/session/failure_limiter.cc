#include "server/session/failure_limiter.h"

#include <algorithm>

namespace token {

double FailureLimiter::Refilled(const Bucket& bucket, absl::Time now) const {
  const double per_second = options_.limit / absl::ToDoubleSeconds(options_.window);
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
  return std::min<double>(options_.limit, bucket.tokens + elapsed * per_second);
}

bool FailureLimiter::Exhausted(absl::string_view key, absl::Time now) const {
  if (options_.limit <= 0) return false;
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return buckets_.size() >= options_.max_keys;
  return Refilled(it->second, now) < 1.0;
}

bool FailureLimiter::RecordFailure(absl::string_view key, absl::Time now) {
  if (options_.limit <= 0) return false;
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) EvictRefilled(now);
    if (buckets_.size() >= options_.max_keys) return true;
    it = buckets_.emplace(std::string(key), Bucket{static_cast<double>(options_.limit), now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = std::max(0.0, Refilled(bucket, now) - 1.0);
  bucket.updated = now;
  return bucket.tokens < 1.0;
}

void FailureLimiter::EvictRefilled(absl::Time now) {
  absl::erase_if(buckets_,
                 [&](const auto& entry) { return Refilled(entry.second, now) >= options_.limit; });
}

size_t FailureLimiter::size() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace token
