// PgPool: a fixed set of PostgreSQL connections with prepared statements,
// each lent to one caller at a time, and a watchdog that cancels a statement
// when its caller's deadline passes. The only place that opens connections.
//
// Usage:
//   PgPool pool({.conninfo = url, .size = 8, .statements = {{"name", "SELECT …"}}});
//   absl::Status s = pool.Run("issue_tokens", deadline, [&](pqxx::connection& c) {
//     pqxx::work tx(c, "issue_tokens");
//     tx.exec_prepared("insert_session", …);
//     tx.commit();
//     return absl::OkStatus();
//   });
//
// A broken connection is dropped and reopened by the next caller, with a short
// backoff so a database that is down is reported at once instead of per-call
// connect attempts piling up.
#ifndef TOKEN_SERVER_STORE_PG_POOL_H_
#define TOKEN_SERVER_STORE_PG_POOL_H_

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/connection"

namespace token {

class PgPool {
 public:
  struct Options {
    std::string conninfo;
    int size = 8;
    // Named statements prepared on every new connection.
    std::vector<std::pair<std::string, std::string>> statements;
    // After a failed connect, callers fail fast for this long.
    absl::Duration reconnect_backoff = absl::Milliseconds(200);
    // Cancel a statement this long before the caller's deadline, so the
    // UNAVAILABLE answer reaches the caller before it gives up.
    absl::Duration deadline_margin = absl::Milliseconds(20);
  };

  struct Stats {
    int size = 0;
    int in_use = 0;
    int connected = 0;
    int64_t waits = 0;  // Run calls that found no idle connection.
  };

  explicit PgPool(Options options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Run lends a connection to `work` until `deadline`. libpqxx exceptions are
  // turned into statuses (UNAVAILABLE/DATABASE_UNAVAILABLE for connection loss,
  // cancellation or timeouts; ABORTED for serialization failures and
  // deadlocks, which Run retries while time remains). `name` labels logs.
  // NOTE: `work` must not let a connection outlive the call.
  absl::Status Run(absl::string_view name, absl::Time deadline,
                   absl::FunctionRef<absl::Status(pqxx::connection&)> work);

  Stats stats() const;

 private:
  struct Slot {
    // Held by the owning caller while (re)connecting or disconnecting, and by
    // the watchdog while cancelling, so a cancel never races a destructor.
    absl::Mutex conn_mu;
    std::unique_ptr<pqxx::connection> conn ABSL_GUARDED_BY(conn_mu);
    absl::Time last_connect_failure ABSL_GUARDED_BY(conn_mu) = absl::InfinitePast();
  };
  struct Lease {
    bool busy = false;
    absl::Time cancel_at = absl::InfiniteFuture();
    bool cancel_sent = false;
    // A cancel request only stops a statement the backend is running: one
    // that lands between statements is ignored. So the watchdog repeats it
    // until the work returns.
    absl::Time next_cancel = absl::InfinitePast();
  };

  absl::Status RunOnce(Slot& slot, size_t index, absl::string_view name, absl::Time deadline,
                       absl::FunctionRef<absl::Status(pqxx::connection&)> work);
  absl::Status EnsureConnected(Slot& slot, absl::Time deadline);
  void WatchdogLoop();

  Options options_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable absl::Mutex mu_;
  std::vector<Lease> leases_ ABSL_GUARDED_BY(mu_);
  int64_t waits_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar watchdog_cv_;
  std::thread watchdog_;
};

}  // namespace token

#endif  // TOKEN_SERVER_STORE_PG_POOL_H_
