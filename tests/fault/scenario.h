// Scenario: what every fault test does around its fault — a database of its
// own, the server(s), a ledger, and the standard ending: stop the load,
// check the table (families in doubt allowed), settle, check it again
// strictly, check through the API, report the figures and expect zero
// violations.
#ifndef TOKEN_TESTS_FAULT_SCENARIO_H_
#define TOKEN_TESTS_FAULT_SCENARIO_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/token_server_process.h"
#include "tests/fault/fault_support.h"
#include "tests/fault/load_driver.h"

namespace token::testing::fault {

// The grace window every fault test runs with: generous, so that a retry
// after an outage of several seconds is still inside it (docs/RELIABILITY.md).
inline constexpr absl::Duration kReuseGrace = absl::Seconds(30);

class Scenario {
 public:
  // `name`: [a-z_]+, used for the database ("fault_<name>") and the report.
  explicit Scenario(const std::string& name);
  ~Scenario();

  const std::string& dbname() const { return dbname_; }
  const std::string& conninfo() const { return conninfo_; }
  Report& report() { return report_; }

  // Starts a token-server on this scenario's database with --reuse-grace=30s
  // and `flags` (which win). All servers of a scenario share one key
  // directory (replicas, or a restart after SIGTERM). Null (and a test
  // failure) on error.
  TokenServerProcess* StartServer(std::vector<std::string> flags = {});

  // The ledger, created from the key directory of the first server.
  Ledger& ledger() { return *ledger_; }

  // Driver options for this scenario's servers (all of them, as targets).
  DriverOptions DriverDefaults() const;

  // The standard ending against `target` (a running server). Expects zero
  // violations and prints the first few otherwise.
  void Finish(const std::string& target, const CallLog::Summary& load_summary);

 private:
  std::string name_;
  std::string dbname_;
  std::string conninfo_;
  std::string work_dir_;  // holds the shared key directory
  std::string key_dir_;
  Report report_;
  std::vector<std::unique_ptr<TokenServerProcess>> servers_;
  std::unique_ptr<Ledger> ledger_;
};

// Polls /readyz until 200 or `timeout`; returns how long it took, or nullopt.
std::optional<absl::Duration> WaitReady(const TokenServerProcess& server, absl::Duration timeout);

// The value of an unlabelled metric in a Prometheus text page, or -1.
double MetricValue(const std::string& page, const std::string& name);

// Installs a BEFORE INSERT OR UPDATE trigger on sessions that sleeps for the
// number of milliseconds in table fault_delay (0 at first). Only in the
// scenario's own database.
void InstallDelayTrigger(const std::string& conninfo);
void SetDelay(const std::string& conninfo, int milliseconds);

// Matches calls that failed (any non-OK code), for CallLog::Count.
bool Failed(const CallRecord& record, const std::string& reason);

}  // namespace token::testing::fault

#endif  // TOKEN_TESTS_FAULT_SCENARIO_H_
