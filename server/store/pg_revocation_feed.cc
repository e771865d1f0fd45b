#include "server/store/pg_revocation_feed.h"

#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <set>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pqxx/pqxx"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/store/conninfo.h"
#include "server/store/pg_rows.h"
#include "server/store/store_sql.h"

namespace token {
namespace {

constexpr char kChannel[] = "token_revocations";
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
// Each liveness round trip proves the feed fresh (on_fresh), often enough
// that a healthy feed stays well inside the revocation set's staleness bound.
constexpr absl::Duration kLivenessInterval = absl::Seconds(1);
// A round trip that takes longer means a stalled backend or path: the
// connection is cut and the feed starts over. A snapshot may read more.
constexpr absl::Duration kRoundTripDeadline = absl::Seconds(3);
constexpr absl::Duration kSnapshotDeadline = absl::Seconds(10);
constexpr absl::Duration kWatchdogInterval = absl::Milliseconds(100);
// Distinct keys waiting to be re-read; past this (a flood of notifications)
// one snapshot replaces them all.
constexpr size_t kMaxPendingHints = 256;

bool IsPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

absl::Time ClampRevocationTime(absl::Time at, absl::Time now, absl::Duration retention,
                               absl::Duration clock_skew) {
  const absl::Time earliest = now - retention;
  const absl::Time latest = std::max(earliest, now + clock_skew);
  return std::min(std::max(at, earliest), latest);
}

std::optional<RevocationHint> ParseRevocationHint(
    absl::string_view payload, const std::function<bool(absl::string_view)>& is_valid_subject) {
  std::vector<absl::string_view> parts = absl::StrSplit(payload, absl::MaxSplits(' ', 2));
  if (parts.size() != 3) return std::nullopt;
  int64_t us = 0;
  if (parts[0] == "session") {
    std::optional<Uuid> id = ParseUuid(parts[1]);
    if (!id.has_value() || !absl::SimpleAtoi(parts[2], &us)) return std::nullopt;
    return RevocationHint{RevocationHint::Kind::kSession, UuidToString(*id)};
  }
  if (parts[0] == "subject") {
    if (!absl::SimpleAtoi(parts[1], &us)) return std::nullopt;
    if (!is_valid_subject || !is_valid_subject(parts[2])) return std::nullopt;
    return RevocationHint{RevocationHint::Kind::kSubject, std::string(parts[2])};
  }
  return std::nullopt;
}

// Receiver collects the keys notifications name, to be re-read after the
// wait: libpqxx calls it from inside get_notifs, where no statement may run.
class PgRevocationFeed::Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, PgRevocationFeed& feed)
      : pqxx::notification_receiver(conn, kChannel), feed_(feed) {}

  void operator()(const std::string& payload, int) override {
    std::optional<RevocationHint> hint =
        ParseRevocationHint(payload, feed_.callbacks_.is_valid_subject);
    if (!hint.has_value()) {
      feed_.CountIgnored();
      return;
    }
    if (overflowed_) return;
    (hint->kind == RevocationHint::Kind::kSession ? sessions_ : subjects_)
        .insert(std::move(hint->key));
    if (sessions_.size() + subjects_.size() > kMaxPendingHints) {
      overflowed_ = true;
      sessions_.clear();
      subjects_.clear();
    }
  }

  bool overflowed() const { return overflowed_; }
  bool empty() const { return sessions_.empty() && subjects_.empty(); }
  // Take returns the pending keys and forgets them.
  std::pair<std::set<std::string>, std::set<std::string>> Take() {
    overflowed_ = false;
    return {std::exchange(sessions_, {}), std::exchange(subjects_, {})};
  }

 private:
  PgRevocationFeed& feed_;
  std::set<std::string> sessions_;
  std::set<std::string> subjects_;
  bool overflowed_ = false;
};

// Watch shows the watchdog a connection's socket for as long as the
// connection lives; Arm/Disarm bracket each round trip on it.
class PgRevocationFeed::Watch {
 public:
  Watch(PgRevocationFeed& feed, int socket) : feed_(feed) {
    absl::MutexLock lock(&feed_.mu_);
    feed_.watched_socket_ = socket;
    feed_.watch_deadline_ = absl::InfiniteFuture();
  }
  ~Watch() {
    absl::MutexLock lock(&feed_.mu_);
    feed_.watched_socket_ = -1;
    feed_.watch_deadline_ = absl::InfiniteFuture();
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  void Arm(absl::Duration timeout) {
    absl::MutexLock lock(&feed_.mu_);
    feed_.watch_deadline_ = absl::Now() + timeout;
  }
  void Disarm() {
    absl::MutexLock lock(&feed_.mu_);
    feed_.watch_deadline_ = absl::InfiniteFuture();
  }

 private:
  PgRevocationFeed& feed_;
};

PgRevocationFeed::PgRevocationFeed(std::string conninfo, absl::Duration retention,
                                   absl::Duration clock_skew, const Clock& clock,
                                   Callbacks callbacks)
    : conninfo_(std::move(conninfo)),
      retention_(retention),
      clock_skew_(clock_skew),
      clock_(clock),
      callbacks_(std::move(callbacks)) {}

PgRevocationFeed::~PgRevocationFeed() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // A round trip in progress may be waiting on a stalled backend.
    if (watched_socket_ >= 0 && watch_deadline_ != absl::InfiniteFuture()) {
      ::shutdown(watched_socket_, SHUT_RDWR);
    }
  }
  if (thread_.joinable()) thread_.join();
  watchdog_.Stop();
}

void PgRevocationFeed::Start() {
  watchdog_.Start(kWatchdogInterval, [this] { CheckDeadline(); });
  thread_ = std::thread([this] { Loop(); });
}

bool PgRevocationFeed::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void PgRevocationFeed::CountIgnored() {
  const int64_t ignored = ++ignored_notifications_;
  // The payload is whatever anyone sent: count it, never echo it. Logged at
  // 1, 2, 4, 8, … so that a flood cannot flood the log.
  if (IsPowerOfTwo(ignored)) {
    Log(LogLevel::kWarning, "ignored malformed revocation notifications",
        {{"ignored_total", absl::StrCat(ignored)}});
  }
}

void PgRevocationFeed::CheckDeadline() {
  {
    absl::MutexLock lock(&mu_);
    if (watched_socket_ < 0 || absl::Now() < watch_deadline_) return;
    // A stopped backend still ACKs TCP, so neither keepalives nor the server
    // would ever end the wait; shutting the socket down makes libpq fail the
    // round trip at once. The feed thread still owns (and closes) the socket.
    ::shutdown(watched_socket_, SHUT_RDWR);
    watch_deadline_ = absl::InfiniteFuture();
  }
  Log(LogLevel::kWarning, "revocation feed round trip timed out; reconnecting");
}

void PgRevocationFeed::Loop() {
  absl::Duration backoff = kFirstBackoff;
  while (!stopping()) {
    bool synced = false;
    try {
      RunConnected(synced);
    } catch (const std::exception&) {
      // Messages can quote connection parameters; log only the fact.
      if (!stopping()) Log(LogLevel::kWarning, "revocation feed disconnected");
    }
    callbacks_.on_lost();
    // The backoff grows across failed attempts only: a feed that was in sync
    // retries at once after a new loss, however many outages came before.
    if (synced) backoff = kFirstBackoff;
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void PgRevocationFeed::RunConnected(bool& synced) {
  pqxx::connection conn(WithServiceOptions(conninfo_, "token-server-feed"));
  Watch watch(*this, conn.sock());
  watch.Arm(kRoundTripDeadline);
  Receiver receiver(conn, *this);  // LISTEN before the snapshot: no gap.
  watch.Disarm();
  // The receiver's destructor UNLISTENs: a round trip like any other.
  absl::Cleanup bound_unlisten = [&] { watch.Arm(kRoundTripDeadline); };

  const size_t entries = LoadSnapshot(conn, watch);
  synced = true;
  Log(LogLevel::kInfo, "revocation feed in sync", {{"entries", absl::StrCat(entries)}});

  absl::Time next_liveness_check = absl::Now() + kLivenessInterval;
  while (!stopping()) {
    conn.await_notification(0, absl::ToInt64Microseconds(kPollInterval));
    // libpqxx stops reading a connection it knows is broken, silently.
    if (!conn.is_open()) throw pqxx::broken_connection("revocation feed connection lost");
    ApplyHints(conn, watch, receiver);
    if (absl::Now() < next_liveness_check) continue;
    next_liveness_check = absl::Now() + kLivenessInterval;
    const absl::Time proven_at = clock_.Now();
    {
      watch.Arm(kRoundTripDeadline);
      absl::Cleanup disarm = [&] { watch.Disarm(); };
      pqxx::nontransaction tx(conn, "feed_liveness");
      tx.exec("SELECT 1");
    }
    // The server sends every notification committed before the statement
    // ahead of its reply: once those are applied, the view is fresh as of
    // proven_at.
    conn.get_notifs();
    ApplyHints(conn, watch, receiver);
    if (callbacks_.on_fresh) callbacks_.on_fresh(proven_at);
  }
}

size_t PgRevocationFeed::LoadSnapshot(pqxx::connection_base& conn, Watch& watch) {
  // The read starts after this instant, so it sees everything committed
  // before it; later revocations arrive as notifications.
  const absl::Time proven_at = clock_.Now();
  RevocationSnapshot snapshot;
  {
    watch.Arm(kSnapshotDeadline);
    absl::Cleanup disarm = [&] { watch.Disarm(); };
    pqxx::read_transaction tx(conn, "load_revocations");
    const int64_t since = absl::ToUnixMicros(proven_at - retention_);
    for (const auto& row : tx.exec_params(std::string(sql::kLoadRevocations), since)) {
      AddRevocation(row, snapshot);
    }
  }
  const absl::Time now = clock_.Now();
  for (auto* entries : {&snapshot.sessions, &snapshot.subjects}) {
    for (auto& [key, at] : *entries) at = ClampRevocationTime(at, now, retention_, clock_skew_);
  }
  callbacks_.on_snapshot(snapshot);
  if (callbacks_.on_fresh) callbacks_.on_fresh(proven_at);
  return snapshot.sessions.size() + snapshot.subjects.size();
}

void PgRevocationFeed::ApplyHints(pqxx::connection_base& conn, Watch& watch, Receiver& receiver) {
  if (receiver.overflowed()) {
    receiver.Take();
    Log(LogLevel::kWarning, "revocation notifications overflowed; reloading");
    LoadSnapshot(conn, watch);
    return;
  }
  if (receiver.empty()) return;
  auto [sessions, subjects] = receiver.Take();
  // The row, not the notification, says whether and when: anyone may NOTIFY.
  std::vector<std::pair<std::string, absl::Time>> session_rows;
  std::vector<std::pair<std::string, absl::Time>> subject_rows;
  auto read = [&](absl::string_view sql, const std::string& key,
                  std::vector<std::pair<std::string, absl::Time>>& rows) {
    watch.Arm(kRoundTripDeadline);
    absl::Cleanup disarm = [&] { watch.Disarm(); };
    pqxx::nontransaction tx(conn, "read_revocation");
    pqxx::result r = tx.exec_params(std::string(sql), key);
    if (!r.empty() && !r[0]["revoked_at"].is_null()) {
      rows.emplace_back(key, absl::FromUnixMicros(r[0]["revoked_at"].as<int64_t>()));
    }
  };
  for (const std::string& id : sessions) read(sql::kReadSessionRevocation, id, session_rows);
  for (const std::string& subject : subjects) {
    read(sql::kReadSubjectRevocation, subject, subject_rows);
  }
  const absl::Time now = clock_.Now();
  for (const auto& [id, at] : session_rows) {
    callbacks_.on_session(id, ClampRevocationTime(at, now, retention_, clock_skew_));
  }
  for (const auto& [subject, at] : subject_rows) {
    callbacks_.on_subject(subject, ClampRevocationTime(at, now, retention_, clock_skew_));
  }
}

}  // namespace token
