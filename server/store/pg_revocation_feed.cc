#include "server/store/pg_revocation_feed.h"

#include <exception>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "pqxx/pqxx"
#include "server/common/log.h"
#include "server/store/conninfo.h"
#include "server/store/store_sql.h"

namespace token {
namespace {

constexpr char kChannel[] = "token_revocations";
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
// A silent network partition is noticed by a cheap query this often.
constexpr absl::Duration kLivenessInterval = absl::Seconds(2);

// Payloads: "session <uuid> <µs>" and "subject <µs> <subject…>" (the subject
// last, since it may contain spaces).
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const PgRevocationFeed::Callbacks& callbacks)
      : pqxx::notification_receiver(conn, kChannel), callbacks_(callbacks) {}

  void operator()(const std::string& payload, int) override {
    std::vector<std::string> parts = absl::StrSplit(payload, absl::MaxSplits(' ', 2));
    int64_t us = 0;
    if (parts.size() != 3) return;
    if (parts[0] == "session" && absl::SimpleAtoi(parts[2], &us)) {
      callbacks_.on_session(parts[1], absl::FromUnixMicros(us));
    } else if (parts[0] == "subject" && absl::SimpleAtoi(parts[1], &us)) {
      callbacks_.on_subject(parts[2], absl::FromUnixMicros(us));
    }
  }

 private:
  const PgRevocationFeed::Callbacks& callbacks_;
};

}  // namespace

PgRevocationFeed::PgRevocationFeed(std::string conninfo, absl::Duration retention,
                                   const Clock& clock, Callbacks callbacks)
    : conninfo_(std::move(conninfo)),
      retention_(retention),
      clock_(clock),
      callbacks_(std::move(callbacks)) {}

PgRevocationFeed::~PgRevocationFeed() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PgRevocationFeed::Start() {
  thread_ = std::thread([this] { Loop(); });
}

bool PgRevocationFeed::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void PgRevocationFeed::Loop() {
  absl::Duration backoff = kFirstBackoff;
  while (!stopping()) {
    bool synced = false;
    try {
      RunConnected(synced);
    } catch (const std::exception&) {
      // Messages can quote connection parameters; log only the fact.
      Log(LogLevel::kWarning, "revocation feed disconnected");
    }
    callbacks_.on_lost();
    // The backoff grows across failed attempts only: a feed that was in sync
    // retries at once after a new loss, however many outages came before.
    if (synced) backoff = kFirstBackoff;
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

void PgRevocationFeed::RunConnected(bool& synced) {
  pqxx::connection conn(WithConnectionOptions(
      conninfo_, {{"connect_timeout", "2"}, {"application_name", "token-server-feed"}}));
  Receiver receiver(conn, callbacks_);  // LISTEN before the snapshot: no gap.
  RevocationSnapshot snapshot;
  {
    pqxx::read_transaction tx(conn, "load_revocations");
    const int64_t since = absl::ToUnixMicros(clock_.Now() - retention_);
    for (const auto& row : tx.exec_params(std::string(sql::kLoadRevocations), since)) {
      auto entry =
          std::make_pair(row[1].as<std::string>(), absl::FromUnixMicros(row[2].as<int64_t>()));
      (row[0].as<std::string>() == "session" ? snapshot.sessions : snapshot.subjects)
          .push_back(std::move(entry));
    }
  }
  callbacks_.on_snapshot(snapshot);
  synced = true;
  Log(LogLevel::kInfo, "revocation feed in sync",
      {{"entries", std::to_string(snapshot.sessions.size() + snapshot.subjects.size())}});

  absl::Time next_liveness_check = absl::Now() + kLivenessInterval;
  while (!stopping()) {
    conn.await_notification(0, absl::ToInt64Microseconds(kPollInterval));
    if (absl::Now() >= next_liveness_check) {
      pqxx::nontransaction tx(conn, "feed_liveness");
      tx.exec("SELECT 1");
      next_liveness_check = absl::Now() + kLivenessInterval;
    }
  }
}

}  // namespace token
