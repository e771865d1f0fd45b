// FakeSessionStore: an in-memory SessionStore for the session core's tests.
// It implements the documented semantics of every method, RotateSession
// exactly as migrations/0003_security.sql decides (tests/store/
// session_store_contract_test.cc runs the same scenarios against it and
// against PostgreSQL, which is the reference), counts calls per
// method (to prove that bad input never reaches the store), and can be
// switched to fail every call with UNAVAILABLE / DATABASE_UNAVAILABLE.
//
// Usage:
//   FakeSessionStore store;
//   SessionService sessions(options, store, keys, chain, clock, revocations);
//   ... sessions.Issue(request, deadline) ...
//   EXPECT_EQ(store.calls().create_session, 1);
//   store.SetUnavailable(true);  // Every later call fails, nothing is written.
#ifndef TOKEN_TESTS_SESSION_FAKE_SESSION_STORE_H_
#define TOKEN_TESTS_SESSION_FAKE_SESSION_STORE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/error_reason.h"
#include "server/store/session_store.h"

namespace token::test {

// FakeSessionStore keeps session families in a map under one mutex, so every
// method is atomic the way a row-locking transaction is.
class FakeSessionStore final : public SessionStore {
 public:
  // CallCounts: how many times each method was called (failed calls included).
  struct CallCounts {
    int create_session = 0;
    int rotate_session = 0;
    int revoke_subject = 0;
    int revoke_session = 0;
    int update_session = 0;
    int list_sessions = 0;
    int load_revocations = 0;
    int sweep_expired = 0;
    int ping = 0;

    int total() const {
      return create_session + rotate_session + revoke_subject + revoke_session + update_session +
             list_sessions + load_revocations + sweep_expired + ping;
    }
  };

  // StoredSession: a row as the sessions table holds it.
  struct StoredSession {
    SessionRow row;
    std::string token_hash;
    // When the current token replaced its parent; unset for generation 0.
    std::optional<absl::Time> rotated_at;
  };

  // With a clock, a call whose deadline has already passed fails like a
  // database timeout (UNAVAILABLE, nothing written); without one deadlines
  // are ignored.
  explicit FakeSessionStore(const Clock* clock = nullptr) : clock_(clock) {}

  // SetUnavailable makes every later call fail with UNAVAILABLE /
  // DATABASE_UNAVAILABLE (true) or work again (false).
  void SetUnavailable(bool unavailable) {
    absl::MutexLock lock(&mu_);
    unavailable_ = unavailable;
    succeed_remaining_.reset();
  }

  // FailAfter lets the next `calls` calls work and makes every later one fail
  // as with SetUnavailable(true).
  void FailAfter(int calls) {
    absl::MutexLock lock(&mu_);
    unavailable_ = false;
    succeed_remaining_ = calls;
  }

  // last_deadline returns the deadline of the latest call (any method).
  std::optional<absl::Time> last_deadline() const {
    absl::MutexLock lock(&mu_);
    return last_deadline_;
  }

  CallCounts calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  void ResetCalls() {
    absl::MutexLock lock(&mu_);
    calls_ = CallCounts{};
  }

  // Insert stores `stored` directly (test setup), replacing any row with its id.
  void Insert(StoredSession stored) {
    absl::MutexLock lock(&mu_);
    sessions_[stored.row.session_id] = std::move(stored);
  }

  // Find returns the stored row of `session_id`, or nullopt.
  std::optional<StoredSession> Find(const std::string& session_id) const {
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second;
  }

  // SubjectRevokedAt returns the recorded subject revocation, or nullopt.
  std::optional<absl::Time> SubjectRevokedAt(const std::string& subject) const {
    absl::MutexLock lock(&mu_);
    auto it = subject_revocations_.find(subject);
    if (it == subject_revocations_.end()) return std::nullopt;
    return it->second;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return sessions_.size();
  }

  // last_sweep returns the (expired_before, revoked_before, batch) of the last
  // SweepExpired call.
  std::optional<std::tuple<absl::Time, absl::Time, int>> last_sweep() const {
    absl::MutexLock lock(&mu_);
    return last_sweep_;
  }

  absl::Status CreateSession(const NewSession& session, absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.create_session;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    // The primary key and the CHECK constraints, failing as PgSessionStore
    // reports a constraint violation (SQLSTATE class 23).
    if (sessions_.contains(session.session_id) || session.token_hash.size() != 32 ||
        session.expires_at > session.absolute_expires_at) {
      return MakeError(ErrorReason::INVALID_REQUEST, "request rejected by the database");
    }
    StoredSession stored;
    stored.row.session_id = session.session_id;
    stored.row.subject = session.subject;
    stored.row.roles = session.roles;
    stored.row.audience = session.audience;
    stored.row.client = session.client;
    stored.row.generation = 0;
    stored.row.created_at = session.created_at;
    stored.row.last_used_at = session.created_at;
    stored.row.expires_at = session.expires_at;
    stored.row.absolute_expires_at = session.absolute_expires_at;
    stored.row.context = session.context;
    stored.row.metadata = session.metadata;
    stored.token_hash = session.token_hash;
    sessions_[session.session_id] = std::move(stored);
    return absl::OkStatus();
  }

  // RotateSession mirrors token_rotate_session() in
  // migrations/0003_security.sql branch by branch; the fake's clock (when
  // given) stands for the database's clock.
  absl::StatusOr<RotateResult> RotateSession(const RotateRequest& request,
                                             absl::Time deadline) override {
    absl::StatusOr<RotateResult> result = RotateLocked(request, deadline);
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = after_rotate_;
    }
    if (hook) hook();
    return result;
  }

  // SetAfterRotateHook runs `hook` after every RotateSession has decided and
  // before it returns: another call "commits" between the rotation and the
  // caller's next step.
  void SetAfterRotateHook(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    after_rotate_ = std::move(hook);
  }

 private:
  absl::StatusOr<RotateResult> RotateLocked(const RotateRequest& request, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    ++calls_.rotate_session;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    RotateResult result;
    const absl::Time now = request.now;
    if (clock_ != nullptr && request.max_clock_offset > absl::ZeroDuration() &&
        absl::AbsDuration(now - (clock_->Now() + database_clock_offset_)) >
            request.max_clock_offset) {
      result.outcome = RotateOutcome::kClockOffset;
      return result;
    }
    auto it = sessions_.find(request.session_id);
    if (it == sessions_.end()) return result;  // kNotFound, empty row.
    StoredSession& s = it->second;
    if (!s.row.revoked_at.has_value()) {
      auto subject = subject_revocations_.find(s.row.subject);
      if (subject != subject_revocations_.end() && subject->second >= s.row.created_at) {
        s.row.revoked_at = subject->second;
        s.row.revoke_reason = "revoke_all";
      }
    }
    const auto match =
        std::find(request.candidate_hashes.begin(), request.candidate_hashes.end(), s.token_hash);
    const auto k = match - request.candidate_hashes.begin();
    if (s.row.revoked_at.has_value()) {
      result.outcome = RotateOutcome::kRevoked;
    } else if (now >= s.row.expires_at || now >= s.row.absolute_expires_at) {
      result.outcome = RotateOutcome::kExpired;
    } else if (k == 0) {
      if (request.candidate_hashes.size() < 2) {
        // The SQL would write NULL into a NOT NULL column and fail.
        return absl::InvalidArgumentError("rotation needs the successor's hash");
      }
      s.token_hash = request.candidate_hashes[1];
      s.row.generation += 1;
      s.rotated_at = now;
      s.row.last_used_at = now;
      s.row.expires_at = std::min(now + request.idle_ttl, s.row.absolute_expires_at);
      if (request.client.has_value()) s.row.client = *request.client;
      result.outcome = RotateOutcome::kRotated;
    } else if (k == 1 && request.reuse_grace > absl::ZeroDuration() && s.rotated_at.has_value() &&
               now <= *s.rotated_at + request.reuse_grace) {
      result.outcome = RotateOutcome::kGraceRetry;
    } else {
      s.row.revoked_at = now;
      s.row.revoke_reason = "refresh_token_reused";
      result.outcome = RotateOutcome::kReuseDetected;
    }
    result.session = s.row;
    return result;
  }

 public:
  absl::StatusOr<SubjectRevocation> RevokeSubject(
      const std::string& subject, const std::string& reason, const WriteTime& at,
      const std::optional<std::string>& except_session_id, absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.revoke_subject;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    const absl::Time now = WriteTimeOf(at);
    SubjectRevocation revoked;
    if (except_session_id.has_value()) {
      auto kept = sessions_.find(*except_session_id);
      if (kept == sessions_.end() || kept->second.row.subject != subject) {
        return MakeError(ErrorReason::INVALID_SESSION_ID,
                         "except_session_id is not a session of this subject");
      }
      // Live sessions only, as revoke_subject_except.sql: one a subject
      // revocation already covers is left as it is.
      for (auto& [id, stored] : sessions_) {
        if (id == *except_session_id || stored.row.subject != subject ||
            stored.row.revoked_at.has_value() || stored.row.expires_at <= now ||
            SubjectRevokedLocked(stored.row).has_value()) {
          continue;
        }
        stored.row.revoked_at = now;
        stored.row.revoke_reason = reason;
        revoked.session_ids.push_back(id);
      }
      std::sort(revoked.session_ids.begin(), revoked.session_ids.end());
      revoked.sessions = static_cast<int64_t>(revoked.session_ids.size());
      revoked.revoked_at = now;
      return revoked;
    }
    for (auto& [id, stored] : sessions_) {
      if (stored.row.subject == subject && !stored.row.revoked_at.has_value() &&
          stored.row.expires_at > now) {
        stored.row.revoked_at = now;
        stored.row.revoke_reason = reason;
        ++revoked.sessions;
      }
    }
    auto [it, inserted] = subject_revocations_.try_emplace(subject, now);
    if (!inserted) it->second = std::max(it->second, now);
    revoked.revoked_at = it->second;
    return revoked;
  }

  // UpdateSession mirrors PgSessionStore::UpdateSession: the row is decided
  // and changed under the one mutex, as under the row lock.
  absl::StatusOr<UpdateResult> UpdateSession(const SessionUpdate& update, const UpdateCheck& check,
                                             absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.update_session;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    UpdateResult result;
    auto it = sessions_.find(update.session_id);
    if (it == sessions_.end()) return result;  // kNotFound, empty row.
    SessionRow& row = it->second.row;
    result.session = ListedLocked(row);
    if (result.session.revoked_at.has_value()) {
      result.outcome = UpdateOutcome::kRevoked;
      return result;
    }
    if (update.now >= row.expires_at || update.now >= row.absolute_expires_at) {
      result.outcome = UpdateOutcome::kExpired;
      return result;
    }
    SessionRow updated = row;
    if (update.roles.has_value()) updated.roles = *update.roles;
    if (update.claims.has_value()) updated.context.claims = *update.claims;
    if (update.scopes.has_value()) updated.context.scopes = *update.scopes;
    if (update.auth_time.has_value()) updated.context.auth_time = *update.auth_time;
    if (update.amr.has_value()) updated.context.amr = *update.amr;
    if (update.acr.has_value()) updated.context.acr = *update.acr;
    if (update.metadata.has_value()) updated.metadata = *update.metadata;
    if (check) {
      if (absl::Status s = check(updated); !s.ok()) return s;
    }
    row = updated;
    result.outcome = UpdateOutcome::kUpdated;
    result.session = std::move(updated);
    return result;
  }

  absl::StatusOr<bool> RevokeSession(const std::string& session_id, const std::string& reason,
                                     const WriteTime& at, absl::Time deadline,
                                     std::string* subject) override {
    absl::MutexLock lock(&mu_);
    ++calls_.revoke_session;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    auto it = sessions_.find(session_id);
    if (it == sessions_.end() || it->second.row.revoked_at.has_value()) return false;
    it->second.row.revoked_at = WriteTimeOf(at);
    it->second.row.revoke_reason = reason;
    if (subject != nullptr) *subject = it->second.row.subject;
    return true;
  }

  absl::StatusOr<std::vector<SessionRow>> ListSessions(const std::string& subject, int limit,
                                                       const std::optional<SessionCursor>& after,
                                                       absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.list_sessions;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    std::vector<SessionRow> rows;
    for (const auto& [id, stored] : sessions_) {
      if (stored.row.subject != subject) continue;
      // Row-wise (created_at, session_id) < cursor, as in list_sessions.sql.
      if (after.has_value() && !(std::tie(stored.row.created_at, stored.row.session_id) <
                                 std::tie(after->created_at, after->session_id))) {
        continue;
      }
      rows.push_back(ListedLocked(stored.row));
    }
    std::sort(rows.begin(), rows.end(), [](const SessionRow& a, const SessionRow& b) {
      return std::tie(a.created_at, a.session_id) > std::tie(b.created_at, b.session_id);
    });
    if (limit >= 0 && rows.size() > static_cast<size_t>(limit)) rows.resize(limit);
    return rows;
  }

  absl::StatusOr<RevocationSnapshot> LoadRevocations(absl::Time since,
                                                     absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.load_revocations;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    RevocationSnapshot snapshot;
    for (const auto& [id, stored] : sessions_) {
      if (stored.row.revoked_at.has_value() && *stored.row.revoked_at >= since) {
        snapshot.sessions.emplace_back(id, *stored.row.revoked_at);
      }
    }
    for (const auto& [subject, at] : subject_revocations_) {
      if (at >= since) snapshot.subjects.emplace_back(subject, at);
    }
    return snapshot;
  }

  absl::StatusOr<int64_t> SweepExpired(absl::Time expired_before, absl::Time revoked_before,
                                       int batch, absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.sweep_expired;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    last_sweep_ = std::make_tuple(expired_before, revoked_before, batch);
    std::vector<std::string> doomed;
    for (const auto& [id, stored] : sessions_) {
      if (static_cast<int>(doomed.size()) >= batch) break;
      if (stored.row.expires_at < expired_before ||
          (stored.row.revoked_at.has_value() && *stored.row.revoked_at < revoked_before)) {
        doomed.push_back(id);
      }
    }
    for (const std::string& id : doomed) sessions_.erase(id);
    // Subject revocations old enough to affect no unexpired token: another
    // batch of at most `batch`, counted in the same total.
    // A live session created before a doomed subject revocation is revoked
    // first, as sweep_subject_revocations.sql does.
    std::vector<std::string> doomed_subjects;
    for (const auto& [subject, at] : subject_revocations_) {
      if (static_cast<int>(doomed_subjects.size()) >= batch) break;
      if (at < revoked_before) doomed_subjects.push_back(subject);
    }
    for (const std::string& subject : doomed_subjects) {
      const absl::Time at = subject_revocations_[subject];
      for (auto& [id, stored] : sessions_) {
        if (stored.row.subject == subject && !stored.row.revoked_at.has_value() &&
            stored.row.created_at <= at) {
          stored.row.revoked_at = at;
          stored.row.revoke_reason = "revoke_all";
        }
      }
      subject_revocations_.erase(subject);
    }
    return static_cast<int64_t>(doomed.size() + doomed_subjects.size());
  }

  absl::Status Ping(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.ping;
    return Fail(deadline);
  }

  // DatabaseClock reads the fake's clock plus SetDatabaseClockOffset's offset.
  absl::StatusOr<absl::Time> DatabaseClock(absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++calls_.ping;
    if (absl::Status s = Fail(deadline); !s.ok()) return s;
    if (clock_ == nullptr) return absl::FailedPreconditionError("the fake has no clock");
    return clock_->Now() + database_clock_offset_;
  }

  // SetDatabaseClockOffset makes the database's clock run `offset` ahead of
  // the fake's clock (for DatabaseClock only).
  void SetDatabaseClockOffset(absl::Duration offset) {
    absl::MutexLock lock(&mu_);
    database_clock_offset_ = offset;
  }

 private:
  // Fail returns the error a call must fail with, or OK.
  absl::Status Fail(absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    last_deadline_ = deadline;
    if (succeed_remaining_.has_value()) {
      if (*succeed_remaining_ == 0) {
        unavailable_ = true;
      } else {
        --*succeed_remaining_;
      }
    }
    if (unavailable_) return MakeError(ErrorReason::DATABASE_UNAVAILABLE, "database is down");
    if (clock_ != nullptr && clock_->Now() >= deadline) {
      return MakeError(ErrorReason::DATABASE_UNAVAILABLE, "database deadline passed");
    }
    return absl::OkStatus();
  }

  // SubjectRevokedLocked returns the subject revocation that covers `row`
  // (made at or after its creation) while the row itself is not revoked.
  std::optional<absl::Time> SubjectRevokedLocked(const SessionRow& row) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (row.revoked_at.has_value()) return std::nullopt;
    auto subject = subject_revocations_.find(row.subject);
    if (subject == subject_revocations_.end() || subject->second < row.created_at) {
      return std::nullopt;
    }
    return subject->second;
  }

  // ListedLocked returns `row` as list_sessions.sql shows it: a session a
  // RevokeAll did not see shows as revoked by it.
  SessionRow ListedLocked(const SessionRow& row) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SessionRow listed = row;
    if (std::optional<absl::Time> at = SubjectRevokedLocked(row); at.has_value()) {
      listed.revoked_at = *at;
      listed.revoke_reason = "revoke_all";
    }
    return listed;
  }

  // WriteTimeOf clamps a revocation time as token_write_time() does.
  absl::Time WriteTimeOf(const WriteTime& at) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (clock_ == nullptr || at.max_clock_offset <= absl::ZeroDuration()) return at.now;
    const absl::Time db = clock_->Now() + database_clock_offset_;
    return std::clamp(at.now, db - at.max_clock_offset, db + at.max_clock_offset);
  }

  const Clock* const clock_;
  std::function<void()> after_rotate_ ABSL_GUARDED_BY(mu_);
  absl::Duration database_clock_offset_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, StoredSession> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> subject_revocations_ ABSL_GUARDED_BY(mu_);
  CallCounts calls_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_deadline_ ABSL_GUARDED_BY(mu_);
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> succeed_remaining_ ABSL_GUARDED_BY(mu_);
  std::optional<std::tuple<absl::Time, absl::Time, int>> last_sweep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token::test

#endif  // TOKEN_TESTS_SESSION_FAKE_SESSION_STORE_H_
