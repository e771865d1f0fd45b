#include "server/session/failure_limiter.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/hash/hash.h"

namespace token {

FailureLimiter::FailureLimiter(Options options) : options_(options) {
  if (options_.max_keys == 0) return;
  const size_t count = std::clamp<size_t>(options_.shards, 1, options_.max_keys);
  shards_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto shard = std::make_unique<Shard>();
    // The first max_keys % count shards take one extra key: the capacities
    // add up to exactly max_keys.
    shard->capacity = options_.max_keys / count + (i < options_.max_keys % count ? 1 : 0);
    shards_.push_back(std::move(shard));
  }
}

FailureLimiter::~FailureLimiter() = default;

double FailureLimiter::Refilled(const Bucket& bucket, absl::Time now) const {
  const double per_second = options_.limit / absl::ToDoubleSeconds(options_.window);
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
  return std::min<double>(options_.limit, bucket.tokens + elapsed * per_second);
}

FailureLimiter::Shard& FailureLimiter::ShardOf(absl::string_view key) const {
  return *shards_[absl::Hash<absl::string_view>{}(key) % shards_.size()];
}

bool FailureLimiter::Exhausted(absl::string_view key, absl::Time now) const {
  if (options_.limit <= 0 || shards_.empty()) return false;
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return false;
  return Refilled(it->second->bucket, now) < 1.0;
}

bool FailureLimiter::RecordFailure(absl::string_view key, absl::Time now) {
  if (options_.limit <= 0 || shards_.empty()) return false;
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  std::list<Entry>::iterator entry;
  if (it != shard.index.end()) {
    entry = it->second;
    // Most recently charged goes last: an active guesser keeps its bucket.
    shard.order.splice(shard.order.end(), shard.order, entry);
  } else {
    if (shard.index.size() >= shard.capacity) {
      // The least recently charged bucket is the one most likely to have
      // refilled, and finding it costs one look whatever the shard's size.
      ++shard.stats.entries_examined;
      ++shard.stats.evictions;
      shard.index.erase(shard.order.front().key);
      shard.order.pop_front();
    }
    shard.order.push_back(Entry{std::string(key), {static_cast<double>(options_.limit), now}});
    entry = std::prev(shard.order.end());
    shard.index.emplace(entry->key, entry);
  }
  Bucket& bucket = entry->bucket;
  bucket.tokens = std::max(0.0, Refilled(bucket, now) - 1.0);
  bucket.updated = now;
  return bucket.tokens < 1.0;
}

size_t FailureLimiter::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    total += shard->index.size();
  }
  return total;
}

FailureLimiter::Stats FailureLimiter::stats() const {
  Stats total;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    total.evictions += shard->stats.evictions;
    total.entries_examined += shard->stats.entries_examined;
  }
  return total;
}

}  // namespace token
