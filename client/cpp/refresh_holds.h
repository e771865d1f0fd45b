// RefreshHolds: the client half of safe refresh retries after lost answers.
//
// A RefreshTokens call that got no answer from the server (a transport
// failure or the caller's own deadline: no ErrorInfo) leaves the client in
// doubt: the request may still sit in the server and be carried out later.
// Retrying the same token is safe (the service's grace window answers a
// replay of the parent with the same successor), but presenting that
// successor while a copy of the unanswered call can still run is not: the
// late copy would then present a token two generations behind the head,
// which is reuse, and revoke the family. So a successor obtained after an
// unanswered attempt is held until that attempt's deadline (plus a margin
// for transit delay) has passed; after it no copy can change anything,
// because the server takes the caller's deadline as its own.
//
// Usage (TokenClient does this for every Refresh):
//   holds.RecordUnanswered(token, attempt_deadline, now);   // no ErrorInfo
//   holds.RecordAnswered(token, successor, now);            // OK
//   absl::Time not_before = holds.HeldUntil(successor, now);
//
// Thread-safe. Entries end once their time has passed, so the tables hold
// only tokens with a call in doubt in the last deadline's worth of time.
#ifndef TOKEN_CLIENT_CPP_REFRESH_HOLDS_H_
#define TOKEN_CLIENT_CPP_REFRESH_HOLDS_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace token::client {

class RefreshHolds {
 public:
  // `margin` is added to an unanswered attempt's deadline: the server starts
  // its deadline when the request arrives, so it ends up to one transit delay
  // after the client's.
  explicit RefreshHolds(absl::Duration margin) : margin_(margin) {}
  RefreshHolds(const RefreshHolds&) = delete;
  RefreshHolds& operator=(const RefreshHolds&) = delete;

  // RecordUnanswered notes that an attempt to refresh `token` with
  // `deadline` ended without an answer from the server.
  void RecordUnanswered(const std::string& token, absl::Time deadline, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  // RecordAnswered notes that `token` was answered with `successor`; if an
  // earlier attempt with `token` is still in doubt, `successor` is held.
  void RecordAnswered(const std::string& token, const std::string& successor, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  // HeldUntil returns when `token` may be presented: a time after `now` if
  // it is held, otherwise absl::InfinitePast().
  absl::Time HeldUntil(const std::string& token, absl::Time now) const ABSL_LOCKS_EXCLUDED(mu_);

  // Size returns how many tokens are tracked, expired ones not yet pruned
  // included (for tests).
  size_t Size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Drops every entry whose time is not after `now` (at most once a second).
  void Prune(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration margin_;
  mutable absl::Mutex mu_;
  // Refresh token → the end (deadline + margin) of its latest unanswered attempt.
  absl::flat_hash_map<std::string, absl::Time> in_doubt_ ABSL_GUARDED_BY(mu_);
  // Successor → the time before which it must not be presented.
  absl::flat_hash_map<std::string, absl::Time> held_ ABSL_GUARDED_BY(mu_);
  absl::Time next_prune_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace token::client

#endif  // TOKEN_CLIENT_CPP_REFRESH_HOLDS_H_
