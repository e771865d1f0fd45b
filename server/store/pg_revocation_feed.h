// PgRevocationFeed: keeps a replica's revocation view in step with the
// database. It LISTENs on the `token_revocations` channel (revocations send
// NOTIFY in the same transaction), and after every (re)connect reloads the
// full recent set from the tables, so a notification missed while
// disconnected is never lost. While disconnected it reports `on_lost`, and the
// replica stops answering VerifyAccess until the next snapshot.
//
// Any database role may NOTIFY the channel, so a notification is only a hint:
// its key (a canonical session id, or a subject that passes the request rule)
// is re-read from the tables, and what the row says is applied. Every time,
// from a row or a snapshot, is clamped to [now - retention, now + clock skew]
// of this replica's clock.
//
// A backend that stalls (a stopped process still ACKs TCP) is noticed by a
// client-side deadline on every round trip: past it, the connection is cut,
// and the feed reconnects and reloads. Meanwhile `on_fresh` stops advancing,
// which the revocation set turns into "not in sync" within its bound.
#ifndef TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_
#define TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/periodic_thread.h"
#include "server/store/session_store.h"

namespace pqxx {
class connection_base;
}  // namespace pqxx

namespace token {

// ClampRevocationTime bounds a revocation time read from the database to
// [now - retention, now + clock_skew]: a row from a replica whose clock
// jumped ahead cannot revoke a subject's future tokens for ever, and one
// older than retention affects no unexpired token anyway.
absl::Time ClampRevocationTime(absl::Time at, absl::Time now, absl::Duration retention,
                               absl::Duration clock_skew);

// RevocationHint: what a notification names, to be re-read from the tables.
struct RevocationHint {
  enum class Kind { kSession, kSubject };
  Kind kind;
  std::string key;  // The canonical (lower-case) session id, or the subject.
};

// ParseRevocationHint reads "session <uuid> <µs>" or "subject <µs> <subject>"
// (the subject last, since it may contain spaces). The time is checked for
// form only: the row's own time is what counts. Anything else, a
// non-canonical session id, or a subject `is_valid_subject` rejects, is
// nullopt.
std::optional<RevocationHint> ParseRevocationHint(
    absl::string_view payload, const std::function<bool(absl::string_view)>& is_valid_subject);

class PgRevocationFeed {
 public:
  struct Callbacks {
    // A full snapshot of revocations since now - retention.
    std::function<void(const RevocationSnapshot&)> on_snapshot;
    std::function<void(const std::string& session_id, absl::Time at)> on_session;
    std::function<void(const std::string& subject, absl::Time at)> on_subject;
    // Every revocation committed before `proven_at` (the injected clock) has
    // been delivered. Follows each snapshot and each liveness round trip
    // (about once a second). Optional.
    std::function<void(absl::Time proven_at)> on_fresh;
    // The feed is down; state may be stale until the next on_snapshot.
    std::function<void()> on_lost;
    // The rule request subjects follow (ValidateSubject; the store does not
    // depend on the session layer, so it is passed in). A notification
    // naming another subject is ignored. REQUIRES: set.
    std::function<bool(absl::string_view subject)> is_valid_subject;
  };

  // `retention`: how far back a snapshot reads, and the lower clamp bound;
  // `clock_skew`: how far ahead of this replica's clock a revocation time may
  // be (the upper clamp bound).
  PgRevocationFeed(std::string conninfo, absl::Duration retention, absl::Duration clock_skew,
                   const Clock& clock, Callbacks callbacks);
  // Stops the feed thread (within about 200 ms; a round trip in progress is
  // cut short).
  ~PgRevocationFeed();

  void Start();

  // How many notifications were ignored as malformed (not logged verbatim:
  // the payload is whatever anyone chose to send).
  int64_t ignored_notifications() const { return ignored_notifications_.load(); }

 private:
  class Receiver;
  class Watch;

  void Loop();
  // Returns by exception when the connection is lost; `synced` is set once
  // the snapshot has been delivered.
  void RunConnected(bool& synced);
  // LoadSnapshot delivers on_snapshot, then on_fresh; returns the entries.
  size_t LoadSnapshot(pqxx::connection_base& conn, Watch& watch);
  // ApplyHints re-reads the rows pending notifications name and delivers
  // what they say (or a snapshot, after an overflow).
  void ApplyHints(pqxx::connection_base& conn, Watch& watch, Receiver& receiver);
  bool stopping() const;
  void CountIgnored();
  // The watchdog: cuts the watched socket once its deadline has passed.
  void CheckDeadline();

  const std::string conninfo_;
  const absl::Duration retention_;
  const absl::Duration clock_skew_;
  const Clock& clock_;
  const Callbacks callbacks_;
  std::atomic<int64_t> ignored_notifications_{0};
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The socket of the connection in use (-1: none) and when the round trip
  // in progress on it must have finished (InfiniteFuture: none in progress).
  // Only ever shut down, never closed, here: the feed thread owns it.
  int watched_socket_ ABSL_GUARDED_BY(mu_) = -1;
  absl::Time watch_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
  PeriodicThread watchdog_;
};

}  // namespace token

#endif  // TOKEN_SERVER_STORE_PG_REVOCATION_FEED_H_
