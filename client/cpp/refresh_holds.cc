#include "client/cpp/refresh_holds.h"

#include <algorithm>

namespace token::client {

void RefreshHolds::RecordUnanswered(const std::string& token, absl::Time deadline, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Prune(now);
  absl::Time& until = in_doubt_.try_emplace(token, absl::InfinitePast()).first->second;
  until = std::max(until, deadline + margin_);
}

void RefreshHolds::RecordAnswered(const std::string& token, const std::string& successor,
                                  absl::Time now) {
  absl::MutexLock lock(&mu_);
  Prune(now);
  auto doubt = in_doubt_.find(token);
  if (doubt == in_doubt_.end()) return;
  absl::Time& until = held_.try_emplace(successor, absl::InfinitePast()).first->second;
  until = std::max(until, doubt->second);
  in_doubt_.erase(doubt);
}

absl::Time RefreshHolds::HeldUntil(const std::string& token, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  // Entries past their time may linger until the next Prune; they hold nothing.
  auto held = held_.find(token);
  if (held == held_.end() || held->second <= now) return absl::InfinitePast();
  return held->second;
}

size_t RefreshHolds::Size() const {
  absl::MutexLock lock(&mu_);
  return in_doubt_.size() + held_.size();
}

void RefreshHolds::Prune(absl::Time now) {
  // At most once a second: during an outage every call adds an entry, and a
  // scan per call would make that quadratic.
  if (now < next_prune_) return;
  next_prune_ = now + absl::Seconds(1);
  absl::erase_if(in_doubt_, [now](const auto& entry) { return entry.second <= now; });
  absl::erase_if(held_, [now](const auto& entry) { return entry.second <= now; });
}

}  // namespace token::client
