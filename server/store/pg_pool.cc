#include "server/store/pg_pool.h"

#include <poll.h>

#include <algorithm>
#include <exception>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pqxx/except"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/store/conninfo.h"

namespace token {
namespace {

constexpr int kMaxAbortedRetries = 3;
// How often the watchdog repeats a cancel while the work has not returned.
constexpr absl::Duration kCancelRepeat = absl::Milliseconds(100);

// libpq's own connect timeout (whole seconds, minimum 2) bounds a connect to
// an unreachable host; refused connections fail at once; keepalives end a
// half-open connection within seconds.
std::string WithConnectDefaults(const std::string& conninfo) {
  return WithServiceOptions(conninfo, "token-server");
}

absl::Status DatabaseUnavailable(absl::string_view what) {
  return MakeError(ErrorReason::DATABASE_UNAVAILABLE, absl::StrCat("database unavailable: ", what));
}

// ClosedWhileIdle: a server that restarted or terminated the backend leaves
// its goodbye and the end of the stream unread in an idle connection's
// socket, and libpq only notices on the next statement, which then fails.
// Nothing else arrives on an idle pooled connection (it does not LISTEN), so
// a readable socket means the connection is gone: replace it before use.
bool ClosedWhileIdle(const pqxx::connection& conn) {
  const int fd = conn.sock();
  if (fd < 0) return true;
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, 0) != 0;
}

}  // namespace

PgPool::PgPool(Options options) : options_(std::move(options)) {
  options_.conninfo = WithConnectDefaults(options_.conninfo);
  for (int i = 0; i < options_.size; ++i) slots_.push_back(std::make_unique<Slot>());
  {
    absl::MutexLock lock(&mu_);
    leases_.resize(slots_.size());
  }
  watchdog_ = std::thread([this] { WatchdogLoop(); });
}

PgPool::~PgPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    watchdog_cv_.SignalAll();
  }
  watchdog_.join();
}

absl::Status PgPool::Run(absl::string_view name, absl::Time deadline,
                         absl::FunctionRef<absl::Status(pqxx::connection&)> work) {
  size_t index = 0;
  {
    absl::MutexLock lock(&mu_);
    auto has_idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (const Lease& lease : leases_) {
        if (!lease.busy) return true;
      }
      return stopping_;
    };
    if (!has_idle()) {
      ++waits_;
      if (!mu_.AwaitWithDeadline(absl::Condition(&has_idle), deadline)) {
        return DatabaseUnavailable("no connection became free before the deadline");
      }
    }
    if (stopping_) return DatabaseUnavailable("shutting down");
    while (leases_[index].busy) ++index;
    leases_[index] = Lease{.busy = true};
  }

  Slot& slot = *slots_[index];
  absl::Status status;
  for (int attempt = 0;; ++attempt) {
    status = RunOnce(slot, index, name, deadline, work);
    if (status.code() != absl::StatusCode::kAborted) break;
    if (attempt >= kMaxAbortedRetries || absl::Now() >= deadline) {
      status = DatabaseUnavailable("transaction kept conflicting; retry");
      break;
    }
  }

  // Release. A lease the watchdog cancelled may still have a cancel request in
  // flight that could hit the next statement, so that connection is closed.
  bool drop_connection = false;
  {
    absl::MutexLock lock(&mu_);
    if (leases_[index].cancel_sent) {
      drop_connection = true;
    } else {
      leases_[index] = Lease{};
    }
  }
  if (drop_connection) {
    {
      absl::MutexLock conn_lock(&slot.conn_mu);
      slot.conn.reset();
    }
    absl::MutexLock lock(&mu_);
    leases_[index] = Lease{};
  }
  return status;
}

absl::Status PgPool::EnsureConnected(Slot& slot, absl::Time deadline) {
  absl::MutexLock lock(&slot.conn_mu);
  if (slot.conn != nullptr && slot.conn->is_open() && !ClosedWhileIdle(*slot.conn)) {
    return absl::OkStatus();
  }
  slot.conn.reset();
  const absl::Time now = absl::Now();
  if (now - slot.last_connect_failure < options_.reconnect_backoff) {
    return DatabaseUnavailable("cannot connect");
  }
  if (now >= deadline) return MakeError(ErrorReason::DEADLINE_EXCEEDED, "deadline exceeded");
  try {
    auto conn = std::make_unique<pqxx::connection>(options_.conninfo);
    for (const auto& [statement_name, sql] : options_.statements) {
      conn->prepare(statement_name, sql);
    }
    slot.conn = std::move(conn);
    return absl::OkStatus();
  } catch (const std::exception&) {
    // The message can echo connection parameters; log only the fact.
    slot.last_connect_failure = absl::Now();
    Log(LogLevel::kWarning, "database connect failed");
    return DatabaseUnavailable("cannot connect");
  }
}

absl::Status PgPool::RunOnce(Slot& slot, size_t index, absl::string_view name, absl::Time deadline,
                             absl::FunctionRef<absl::Status(pqxx::connection&)> work) {
  if (absl::Now() >= deadline) {
    return MakeError(ErrorReason::DEADLINE_EXCEEDED, "deadline exceeded before the database call");
  }
  if (absl::Status s = EnsureConnected(slot, deadline); !s.ok()) return s;
  // Past the cancel point (a long queue wait, a slow connect) the watchdog
  // would cancel at once, possibly before the statement reaches the server.
  if (absl::Now() >= deadline - options_.deadline_margin) {
    return MakeError(ErrorReason::DEADLINE_EXCEEDED, "deadline exceeded before the database call");
  }

  pqxx::connection* conn = nullptr;
  {
    absl::MutexLock conn_lock(&slot.conn_mu);
    conn = slot.conn.get();
  }
  {
    absl::MutexLock lock(&mu_);
    leases_[index].cancel_at = deadline - options_.deadline_margin;
    watchdog_cv_.Signal();
  }
  absl::Cleanup disarm = [this, index] {
    absl::MutexLock lock(&mu_);
    leases_[index].cancel_at = absl::InfiniteFuture();
  };

  auto drop = [&slot] {
    absl::MutexLock conn_lock(&slot.conn_mu);
    slot.conn.reset();
  };
  // Only SQLSTATEs and names are logged: libpq messages can quote values.
  try {
    return work(*conn);
  } catch (const pqxx::in_doubt_error&) {
    drop();
    Log(LogLevel::kWarning, "database commit outcome unknown", {{"txn", std::string(name)}});
    return DatabaseUnavailable("connection lost during commit");
  } catch (const pqxx::broken_connection&) {
    drop();
    Log(LogLevel::kWarning, "database connection lost", {{"txn", std::string(name)}});
    return DatabaseUnavailable("connection lost");
  } catch (const pqxx::statement_completion_unknown&) {
    drop();
    return DatabaseUnavailable("connection lost during statement");
  } catch (const pqxx::transaction_rollback&) {
    // Serialization failure or deadlock: safe to run the transaction again.
    return absl::AbortedError("transaction conflict");
  } catch (const pqxx::sql_error& e) {
    const std::string state = e.sqlstate();
    if (state == "57014") {
      return DatabaseUnavailable("did not answer before the deadline");
    }
    // libpq's own errors carry no SQLSTATE: the connection broke under the
    // statement (seen when PostgreSQL crashes mid-call).
    if (state.empty() || absl::StartsWith(state, "08") || absl::StartsWith(state, "57P")) {
      drop();
      return DatabaseUnavailable("connection lost");
    }
    Log(LogLevel::kError, "database statement failed",
        {{"txn", std::string(name)}, {"sqlstate", state}});
    if (absl::StartsWith(state, "22") || absl::StartsWith(state, "23")) {
      return MakeError(ErrorReason::INVALID_REQUEST, "request rejected by the database");
    }
    return DatabaseUnavailable("statement failed");
  } catch (const std::exception&) {
    drop();
    Log(LogLevel::kError, "database call failed", {{"txn", std::string(name)}});
    return DatabaseUnavailable("unexpected failure");
  }
}

void PgPool::WatchdogLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = absl::Now();
    absl::Time next = absl::InfiniteFuture();
    std::vector<size_t> due;
    for (size_t i = 0; i < leases_.size(); ++i) {
      Lease& lease = leases_[i];
      if (!lease.busy) continue;
      // Due at the cancel point, then again every kCancelRepeat until the
      // work returns (RunOnce resets cancel_at): a cancel that arrived
      // before the statement started must not leave it unbounded.
      const absl::Time due_at = std::max(lease.cancel_at, lease.next_cancel);
      if (due_at <= now) {
        lease.cancel_sent = true;
        lease.next_cancel = now + kCancelRepeat;
        due.push_back(i);
        next = std::min(next, lease.next_cancel);
      } else if (due_at < next) {
        next = due_at;
      }
    }
    if (!due.empty()) {
      mu_.Unlock();
      for (size_t i : due) {
        absl::MutexLock conn_lock(&slots_[i]->conn_mu);
        if (slots_[i]->conn == nullptr) continue;
        try {
          slots_[i]->conn->cancel_query();
        } catch (const std::exception&) {
          // The statement may have finished; the connection is dropped anyway.
        }
      }
      mu_.Lock();
      continue;
    }
    watchdog_cv_.WaitWithDeadline(&mu_, next);
  }
}

PgPool::Stats PgPool::stats() const {
  Stats stats;
  stats.size = static_cast<int>(slots_.size());
  {
    absl::MutexLock lock(&mu_);
    for (const Lease& lease : leases_) stats.in_use += lease.busy ? 1 : 0;
    stats.waits = waits_;
  }
  for (const auto& slot : slots_) {
    if (!slot->conn_mu.TryLock()) {
      ++stats.connected;  // Busy connecting or cancelling: count it as present.
      continue;
    }
    stats.connected += slot->conn != nullptr ? 1 : 0;
    slot->conn_mu.Unlock();
  }
  return stats;
}

}  // namespace token
