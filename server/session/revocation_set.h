// RevocationSet: the in-memory view of revocations that VerifyAccess checks on
// every call, so a valid token costs no database query. Entries are kept only
// while an access token they affect can still be unexpired (retention =
// access-token lifetime + clock skew), which bounds memory by revocation rate,
// not by traffic. Fed by the database's revocation notifications; while that
// feed is out of sync, or has not proven itself fresh recently enough, the set
// reports it, and callers refuse to answer from it.
#ifndef TOKEN_SERVER_SESSION_REVOCATION_SET_H_
#define TOKEN_SERVER_SESSION_REVOCATION_SET_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/session_store.h"

namespace token {

// How stale the database feed's view may be before VerifyAccess refuses to
// answer from it: a revocation made on another replica is honoured here, or
// this replica answers SERVICE_NOT_READY, within this long. The feed proves
// freshness about once a second, so a healthy feed has ample margin.
inline constexpr absl::Duration kRevocationFeedMaxStaleness = absl::Seconds(5);

class RevocationSet {
 public:
  // `max_staleness` bounds how long ago the feed may last have proven itself
  // fresh (MarkFresh) for the set to count as in sync. A set fed by the
  // database feed passes kRevocationFeedMaxStaleness; the unbounded default is
  // for sets nothing but this process writes (tests).
  explicit RevocationSet(absl::Duration retention,
                         absl::Duration max_staleness = absl::InfiniteDuration())
      : retention_(retention), max_staleness_(max_staleness) {}

  // IsRevoked: the session is revoked, or the subject was revoked at or after
  // `issued_at` (whole-second iat errs on the side of revoking).
  bool IsRevoked(absl::string_view session_id, absl::string_view subject,
                 absl::Time issued_at) const;

  // SubjectRevokedAt returns when `subject` was last revoked, if still retained.
  std::optional<absl::Time> SubjectRevokedAt(absl::string_view subject) const;

  void AddSession(const std::string& session_id, absl::Time revoked_at);
  void AddSubject(const std::string& subject, absl::Time revoked_at);

  // ReplaceAll swaps in a full snapshot (after a (re)connect of the feed),
  // keeping any newer local entries, and marks the set synchronised.
  void ReplaceAll(const RevocationSnapshot& snapshot);

  // MarkFresh records that every revocation committed before `proven_at`
  // (this replica's clock) has been applied. Never moves backwards.
  void MarkFresh(absl::Time proven_at);

  // Prune drops entries that can no longer affect an unexpired token.
  void Prune(absl::Time now);

  // InSync: a snapshot was installed since the feed was last lost, and the
  // feed proved itself fresh no longer than max_staleness before `now`.
  // False until the first snapshot, whenever the feed is lost, and when the
  // feed stalls without noticing (a stopped backend).
  bool InSync(absl::Time now) const;
  // MarkOutOfSync: the feed is lost; also forgets the last proof of freshness.
  void MarkOutOfSync();

  size_t size() const;
  absl::Duration retention() const { return retention_; }

 private:
  const absl::Duration retention_;
  const absl::Duration max_staleness_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> subjects_ ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time fresh_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_REVOCATION_SET_H_
