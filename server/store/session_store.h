// SessionStore: persistence of session families. The PostgreSQL
// implementation (PgSessionStore) is the only code that speaks SQL; core logic
// is tested against a fake of this interface.
//
// Usage:
//   SessionStorePtr store = ...;
//   absl::Status s = store->CreateSession(new_session, deadline);
//   absl::StatusOr<RotateResult> r = store->RotateSession(request, deadline);
//
// Every method gives up at `deadline`: UNAVAILABLE (reason DATABASE_UNAVAILABLE)
// when the database is down, too slow, or the deadline passes, and then nothing
// was written (the transaction rolled back, or never started).
#ifndef TOKEN_SERVER_STORE_SESSION_STORE_H_
#define TOKEN_SERVER_STORE_SESSION_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/session_context.h"

namespace token {

// ClientMetadata: the end user's client, as reported by the calling service.
struct ClientMetadata {
  std::string user_agent;
  std::string ip_address;
};

// SessionRow: one session family as stored.
struct SessionRow {
  std::string session_id;  // Canonical UUID text.
  std::string subject;
  std::vector<std::string> roles;
  std::string audience;
  ClientMetadata client;
  int64_t generation = 0;
  absl::Time created_at;
  absl::Time last_used_at;
  absl::Time expires_at;
  absl::Time absolute_expires_at;
  std::optional<absl::Time> revoked_at;
  std::string revoke_reason;
  // Copied into every access token of the session; changed only by
  // UpdateSession.
  TokenContext context;
  // Returned by ListSessions, never put in a token.
  SessionMetadata metadata;
};

// NewSession: the row IssueTokens creates.
struct NewSession {
  std::string session_id;
  std::string subject;
  std::vector<std::string> roles;
  std::string audience;
  ClientMetadata client;
  std::string token_hash;  // 32 bytes: SHA-256 of the generation-0 secret.
  absl::Time created_at;
  absl::Time expires_at;
  absl::Time absolute_expires_at;
  TokenContext context;  // REQUIRES: validated (claims canonical JSON object).
  SessionMetadata metadata;
};

// RotateRequest: one RefreshTokens call, decided by the store in one round trip.
// REQUIRES: the presented token is authentic (its MAC tag checked): the store
// takes any token of the family that is neither current nor the grace parent
// for a rotated-away copy, i.e. reuse.
struct RotateRequest {
  std::string session_id;
  // candidate_hashes[0] is the hash of the presented secret, [1] that of its
  // successor. Index 0 matching the row means the presented token is current;
  // index 1 that it is the current token's parent.
  std::vector<std::string> candidate_hashes;
  absl::Time now;
  absl::Duration reuse_grace;
  absl::Duration idle_ttl;
  // Replaces the recorded client metadata when set.
  std::optional<ClientMetadata> client;
  // The store refuses the call (kClockOffset, nothing changes) when `now` is
  // further than this from the database's clock; zero disables the check.
  absl::Duration max_clock_offset = absl::ZeroDuration();
};

enum class RotateOutcome {
  // Index 0 matched a live session: the row now holds candidate 1.
  kRotated,
  // Index 1 matched inside the grace window: the row is unchanged.
  kGraceRetry,
  // Index 1 outside the grace rule, or no candidate (an older generation):
  // the family is now revoked.
  kReuseDetected,
  // The session was already revoked, or a RevokeAll of its subject made at or
  // after its creation had not reached it yet and now has.
  kRevoked,
  // The idle or absolute lifetime has ended.
  kExpired,
  // No such session (never created, or swept).
  kNotFound,
  // `now` is too far from the database's clock: nothing was decided.
  kClockOffset,
};

// RotateResult: the outcome and the row as it is after the call (empty row for
// kNotFound and kClockOffset), context and metadata included: read under the
// row lock, so they are the latest an UpdateSession committed.
struct [[nodiscard]] RotateResult {
  RotateOutcome outcome = RotateOutcome::kNotFound;
  SessionRow session;
};

// WriteTime: the replica's time for a revocation, and how far from the
// database's clock the store lets it be (zero: taken as it is).
struct WriteTime {
  // Implicit: a bare time is taken as it is (tests, tools).
  WriteTime(absl::Time now, absl::Duration max_clock_offset = absl::ZeroDuration())  // NOLINT
      : now(now), max_clock_offset(max_clock_offset) {}
  absl::Time now;
  absl::Duration max_clock_offset;
};

// SubjectRevocation: what RevokeSubject did.
struct [[nodiscard]] SubjectRevocation {
  int64_t sessions = 0;  // Live sessions it revoked.
  // Without an exception: the subject's recorded revocation time. With one:
  // the time the sessions were revoked at (no subject revocation is recorded).
  absl::Time revoked_at;
  // With an exception only: the sessions this call revoked (each revoked at
  // `revoked_at`), so the caller can revoke their tokens locally at once.
  std::vector<std::string> session_ids;
};

// SessionUpdate: one UpdateSession call. Only the engaged fields change.
// REQUIRES: validated values (claims canonical JSON object text).
struct SessionUpdate {
  std::string session_id;
  std::optional<std::vector<std::string>> roles;
  std::optional<std::string> claims;
  std::optional<std::vector<std::string>> scopes;
  // Engaged and nullopt: clear auth_time.
  std::optional<std::optional<absl::Time>> auth_time;
  std::optional<std::vector<std::string>> amr;
  std::optional<std::string> acr;
  std::optional<SessionMetadata> metadata;
  // A session whose idle or absolute expiry is at or before `now` is expired.
  absl::Time now;
};

enum class UpdateOutcome {
  kUpdated,
  // No such session (never created, swept, or not a UUID).
  kNotFound,
  // Revoked, or a RevokeAll of its subject at or after its creation.
  kRevoked,
  // The idle or absolute lifetime has ended.
  kExpired,
};

// UpdateResult: the outcome and the row (after the update for kUpdated, as
// stored otherwise, shown revoked by a subject revocation as ListSessions
// shows it; empty for kNotFound).
struct [[nodiscard]] UpdateResult {
  UpdateOutcome outcome = UpdateOutcome::kNotFound;
  SessionRow session;
};

// UpdateCheck: sees the row as it would be after an update, before it
// commits; a non-OK status rolls the update back. Runs under the row lock:
// it must be quick and must not call the store.
using UpdateCheck = std::function<absl::Status(const SessionRow&)>;

// SessionCursor: position after the last row of a ListSessions page.
struct SessionCursor {
  absl::Time created_at;
  std::string session_id;
};

// RevocationSnapshot: every revocation still able to affect an access token.
struct RevocationSnapshot {
  std::vector<std::pair<std::string, absl::Time>> sessions;  // session_id, revoked_at
  std::vector<std::pair<std::string, absl::Time>> subjects;  // subject, revoked_at
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // CreateSession inserts a new family. REQUIRES: validated input.
  virtual absl::Status CreateSession(const NewSession& session, absl::Time deadline) = 0;

  // RotateSession performs the whole refresh decision atomically; concurrent
  // calls for one session are serialised by the row lock, so exactly one of
  // them rotates.
  virtual absl::StatusOr<RotateResult> RotateSession(const RotateRequest& request,
                                                     absl::Time deadline) = 0;

  // RevokeSubject revokes every live (unrevoked, unexpired) session of
  // `subject` and records the subject revocation, all at one time: `at.now`,
  // clamped to within `at.max_clock_offset` of the database's clock.
  //
  // With `except_session_id` ("log out my other devices"): that session must
  // be one of `subject`'s (else INVALID_ARGUMENT / INVALID_SESSION_ID and
  // nothing changes); every other live session is revoked individually and no
  // subject revocation is recorded, since it would also end the kept
  // session's access tokens. Sessions created while the call runs are not
  // seen by it.
  virtual absl::StatusOr<SubjectRevocation> RevokeSubject(
      const std::string& subject, const std::string& reason, const WriteTime& at,
      const std::optional<std::string>& except_session_id, absl::Time deadline) = 0;

  // RevokeSession revokes one live session at `at` (clamped as above); false
  // if unknown or already revoked. On success returns the subject through
  // `subject` (for audit).
  virtual absl::StatusOr<bool> RevokeSession(const std::string& session_id,
                                             const std::string& reason, const WriteTime& at,
                                             absl::Time deadline, std::string* subject) = 0;

  // UpdateSession changes the engaged fields of a live session, serialised
  // with RotateSession by the row lock (neither loses the other's change).
  // `check` sees the updated row before commit; its non-OK status rolls the
  // update back and is returned as it is. Revoked, expired and unknown
  // sessions are left unchanged (the outcome says which).
  virtual absl::StatusOr<UpdateResult> UpdateSession(const SessionUpdate& update,
                                                     const UpdateCheck& check,
                                                     absl::Time deadline) = 0;

  // ListSessions returns up to `limit` sessions of `subject`, newest first,
  // strictly after `after` when given.
  virtual absl::StatusOr<std::vector<SessionRow>> ListSessions(
      const std::string& subject, int limit, const std::optional<SessionCursor>& after,
      absl::Time deadline) = 0;

  // LoadRevocations returns revocations made at or after `since`.
  virtual absl::StatusOr<RevocationSnapshot> LoadRevocations(absl::Time since,
                                                             absl::Time deadline) = 0;

  // SweepExpired deletes at most `batch` sessions that expired before
  // `expired_before` or were revoked before `revoked_before`, and at most
  // `batch` subject revocations made before `revoked_before` (first revoking
  // any session of that subject created before it and still live); returns
  // how many rows it deleted in all.
  // REQUIRES: revoked_before is earlier than the issue time of every
  // unexpired access token (now - access ttl - clock skew, or earlier).
  virtual absl::StatusOr<int64_t> SweepExpired(absl::Time expired_before, absl::Time revoked_before,
                                               int batch, absl::Time deadline) = 0;

  // Ping checks that the database answers.
  virtual absl::Status Ping(absl::Time deadline) = 0;

  // DatabaseClock returns the database server's clock, for measuring this
  // replica's clock offset against it.
  virtual absl::StatusOr<absl::Time> DatabaseClock(absl::Time deadline) = 0;
};

using SessionStorePtr = std::shared_ptr<SessionStore>;

}  // namespace token

#endif  // TOKEN_SERVER_STORE_SESSION_STORE_H_
