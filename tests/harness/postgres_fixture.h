#ifndef TOKEN_TESTS_HARNESS_POSTGRES_FIXTURE_H_
#define TOKEN_TESTS_HARNESS_POSTGRES_FIXTURE_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace token::testing {

// A throwaway PostgreSQL 15 cluster: initdb into a fresh temporary directory,
// reachable only through a unix socket in that directory (no TCP), with
// durability switched off for speed. A superuser and a database, both named
// "token", exist once Start() returns.
//
// Layout of root_dir(): data/ (the cluster), run/ (the socket), postgres.log
// (the server log) and logs of the commands the fixture ran.
//
// PostgreSQL refuses to run as root: when the test runs as root, initdb,
// pg_ctl and postgres run as the `postgres` user through `runuser`, and the
// directory belongs to that user. Binaries come from $PG_BINDIR, else
// /usr/lib/postgresql/15/bin, else `pg_config --bindir`. The directory goes
// under $TMPDIR when that is usable (and reachable by `postgres` when root),
// else /tmp.
//
// The destructor stops the server (immediate mode) and removes the directory.
// If the test process dies first (crash, SIGKILL from a ctest timeout), a
// small detached watchdog notices and does the same.
class PostgresServer {
 public:
  static constexpr char kSuperuser[] = "token";
  static constexpr char kDatabase[] = "token";

  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // libpq keyword form: "host=<socket_dir> port=<port> dbname=token user=token".
  std::string conninfo() const { return conninfo(kDatabase); }
  std::string conninfo(const std::string& dbname) const;

  std::string socket_dir() const { return root_dir_ + "/run"; }
  std::string data_dir() const { return root_dir_ + "/data"; }
  std::string root_dir() const { return root_dir_; }
  std::string log_path() const { return root_dir_ + "/postgres.log"; }
  int port() const { return port_; }
  bool running() const { return running_; }

  // `pg_ctl stop -m immediate`: like a crash, connections are cut at once.
  absl::Status StopImmediate();
  // Starts the server again on the same data directory and socket (stopping
  // it first, in immediate mode, if it is running) and waits until it accepts
  // connections.
  absl::Status Restart();

  // Runs `psql -v ON_ERROR_STOP=1 -c sql` against database "token" as the
  // superuser. The error carries psql's output.
  absl::Status Psql(const std::string& sql) const { return Psql(sql, kDatabase); }
  absl::Status Psql(const std::string& sql, const std::string& dbname) const;
  // Like Psql, returning the rows unaligned ("-At": '|' between columns, one
  // row per line, no trailing newline). For a single value, just the value.
  absl::StatusOr<std::string> Query(const std::string& sql) const;
  // CREATE DATABASE <name>, e.g. for a test that wants an empty schema.
  absl::Status CreateDatabase(const std::string& name) const;

 private:
  PostgresServer() = default;

  absl::StatusOr<std::string> RunPsql(const std::vector<std::string>& extra_args,
                                      const std::string& dbname) const;
  absl::Status StartServer();
  absl::Status WaitUntilReady(absl::Duration timeout) const;
  absl::Status RunPgCommand(const std::string& log_name,
                            const std::vector<std::string>& args) const;

  std::string bindir_;
  std::string root_dir_;
  int port_ = 5432;
  bool as_postgres_user_ = false;
  bool running_ = false;
  int watchdog_fd_ = -1;  // Write end of the watchdog's pipe.
  mutable std::atomic<int> command_counter_{0};
};

// One PostgresServer per test binary, started before the first test and torn
// down after the last. Integration tests register it by including
// "tests/harness/postgres_environment.h" and then use
// PostgresEnvironment::Get().conninfo().
class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  // The running server; aborts with a message if there is none (the header
  // above was not included, or start-up failed).
  static const PostgresServer& Get();
  // For fault tests that stop and restart the shared server. Such tests
  // should leave it running.
  static PostgresServer& Mutable();

 private:
  static std::unique_ptr<PostgresServer>& Instance();
};

}  // namespace token::testing

#endif  // TOKEN_TESTS_HARNESS_POSTGRES_FIXTURE_H_
