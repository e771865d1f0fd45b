// RevocationSet: the in-memory view of revocations that VerifyAccess checks on
// every call, so a valid token costs no database query. Entries are kept only
// while an access token they affect can still be unexpired (retention =
// access-token lifetime + clock skew), which bounds memory by revocation rate,
// not by traffic. Fed by the database's revocation notifications; while that
// feed is out of sync the set reports it, and callers refuse to answer from it.
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

class RevocationSet {
 public:
  explicit RevocationSet(absl::Duration retention) : retention_(retention) {}

  // IsRevoked: the session is revoked, or the subject was revoked at or after
  // `issued_at` (whole-second iat errs on the side of revoking).
  bool IsRevoked(absl::string_view session_id, absl::string_view subject,
                 absl::Time issued_at) const;

  // SubjectRevokedAt returns when `subject` was last revoked, if still retained.
  std::optional<absl::Time> SubjectRevokedAt(absl::string_view subject) const;

  void AddSession(const std::string& session_id, absl::Time revoked_at);
  void AddSubject(const std::string& subject, absl::Time revoked_at);

  // ReplaceAll swaps in a full snapshot (after a (re)connect of the feed),
  // keeping any newer local entries, and marks the set in sync.
  void ReplaceAll(const RevocationSnapshot& snapshot);

  // Prune drops entries that can no longer affect an unexpired token.
  void Prune(absl::Time now);

  // in_sync: false until the first snapshot and whenever the feed is lost.
  bool in_sync() const;
  void MarkOutOfSync();

  size_t size() const;
  absl::Duration retention() const { return retention_; }

 private:
  const absl::Duration retention_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Time> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> subjects_ ABSL_GUARDED_BY(mu_);
  bool in_sync_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_REVOCATION_SET_H_
