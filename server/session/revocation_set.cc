#include "server/session/revocation_set.h"

#include <algorithm>

namespace token {
namespace {

void Merge(absl::flat_hash_map<std::string, absl::Time>& map, const std::string& key,
           absl::Time at) {
  auto [it, inserted] = map.try_emplace(key, at);
  if (!inserted) it->second = std::max(it->second, at);
}

}  // namespace

bool RevocationSet::IsRevoked(absl::string_view session_id, absl::string_view subject,
                              absl::Time issued_at) const {
  absl::ReaderMutexLock lock(&mu_);
  if (sessions_.contains(session_id)) return true;
  auto it = subjects_.find(subject);
  return it != subjects_.end() && issued_at <= it->second;
}

std::optional<absl::Time> RevocationSet::SubjectRevokedAt(absl::string_view subject) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end()) return std::nullopt;
  return it->second;
}

void RevocationSet::AddSession(const std::string& session_id, absl::Time revoked_at) {
  absl::MutexLock lock(&mu_);
  Merge(sessions_, session_id, revoked_at);
}

void RevocationSet::AddSubject(const std::string& subject, absl::Time revoked_at) {
  absl::MutexLock lock(&mu_);
  Merge(subjects_, subject, revoked_at);
}

void RevocationSet::ReplaceAll(const RevocationSnapshot& snapshot) {
  absl::flat_hash_map<std::string, absl::Time> sessions;
  absl::flat_hash_map<std::string, absl::Time> subjects;
  for (const auto& [id, at] : snapshot.sessions) Merge(sessions, id, at);
  for (const auto& [subject, at] : snapshot.subjects) Merge(subjects, subject, at);
  absl::MutexLock lock(&mu_);
  // Entries added locally while the snapshot was read stay: a revocation is
  // never forgotten early.
  for (const auto& [id, at] : sessions_) Merge(sessions, id, at);
  for (const auto& [subject, at] : subjects_) Merge(subjects, subject, at);
  sessions_ = std::move(sessions);
  subjects_ = std::move(subjects);
  synced_ = true;
}

void RevocationSet::MarkFresh(absl::Time proven_at) {
  absl::MutexLock lock(&mu_);
  fresh_at_ = std::max(fresh_at_, proven_at);
}

void RevocationSet::Prune(absl::Time now) {
  const absl::Time horizon = now - retention_;
  absl::MutexLock lock(&mu_);
  absl::erase_if(sessions_, [&](const auto& entry) { return entry.second < horizon; });
  absl::erase_if(subjects_, [&](const auto& entry) { return entry.second < horizon; });
}

bool RevocationSet::InSync(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  if (!synced_) return false;
  if (max_staleness_ == absl::InfiniteDuration()) return true;
  return now - fresh_at_ <= max_staleness_;
}

void RevocationSet::MarkOutOfSync() {
  absl::MutexLock lock(&mu_);
  synced_ = false;
  fresh_at_ = absl::InfinitePast();
}

size_t RevocationSet::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return sessions_.size() + subjects_.size();
}

}  // namespace token
