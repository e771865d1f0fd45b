#include "tests/harness/postgres_fixture.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tests/harness/poll.h"
#include "tests/harness/subprocess.h"

namespace token::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kPostgresUser[] = "postgres";
constexpr absl::Duration kCommandTimeout = absl::Seconds(120);
constexpr absl::Duration kReadyTimeout = absl::Seconds(30);

// Settings appended to postgresql.conf, so that a plain `pg_ctl start` (by
// Restart, or by hand when debugging) brings the server back identically.
constexpr char kServerSettings[] = R"(
# Added by the test harness.
listen_addresses = ''
port = %d
unix_socket_directories = '%s'
fsync = off
# Commits still reach the kernel (write, no fsync): they survive StopImmediate.
synchronous_commit = on
full_page_writes = off
max_connections = 200
)";

std::string Tail(const std::string& text, size_t max_chars = 2000) {
  if (text.size() <= max_chars) return text;
  return "..." + text.substr(text.size() - max_chars);
}

std::string FileTail(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFileToString(path);
  return content.ok() ? Tail(*content) : std::string("(no output)");
}

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

absl::StatusOr<std::string> FindBindir() {
  if (const char* env = getenv("PG_BINDIR"); env != nullptr && *env != '\0') {
    if (IsExecutable(absl::StrCat(env, "/initdb"))) return std::string(env);
    return absl::FailedPreconditionError(absl::StrCat("PG_BINDIR=", env, " has no initdb"));
  }
  const std::string debian = "/usr/lib/postgresql/15/bin";
  if (IsExecutable(debian + "/initdb")) return debian;
  if (FILE* pipe = popen("pg_config --bindir 2>/dev/null", "r"); pipe != nullptr) {
    char buffer[4096];
    std::string out;
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
    pclose(pipe);
    std::string dir(absl::StripAsciiWhitespace(out));
    if (!dir.empty() && IsExecutable(dir + "/initdb")) return dir;
  }
  return absl::FailedPreconditionError(
      "PostgreSQL server binaries not found (looked at $PG_BINDIR, /usr/lib/postgresql/15/bin, "
      "pg_config --bindir); install postgresql-15 (scripts/install-deps.sh)");
}

// Whether `dir` can hold our cluster: a short absolute path of plain
// characters (it ends up in conninfo strings, postgresql.conf and a socket
// path limited to 107 bytes), and when running as root every component must
// be searchable by others so the postgres user can reach it.
bool UsableBaseDir(const std::string& dir, bool as_postgres_user) {
  if (dir.empty() || dir[0] != '/' || dir.size() > 60) return false;
  for (char c : dir) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '_' &&
        c != '-') {
      return false;
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || access(dir.c_str(), W_OK) != 0) {
    return false;
  }
  if (as_postgres_user) {
    for (fs::path p = fs::path(dir);; p = p.parent_path()) {
      if (stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
      if (p == p.parent_path()) break;
    }
  }
  return true;
}

std::string ChooseBaseDir(bool as_postgres_user) {
  if (const char* tmp = getenv("TMPDIR"); tmp != nullptr) {
    std::string dir = std::string(absl::StripSuffix(tmp, "/"));
    if (UsableBaseDir(dir, as_postgres_user)) return dir;
  }
  return "/tmp";
}

// The watchdog: a detached shell (its own session, reparented to init so a
// ctest timeout that kills our process tree does not reach it) blocked
// reading a pipe whose only writer is this process. When the destructor has
// cleaned up it writes "done"; if the process dies instead, the read sees EOF
// and the shell stops the server and removes the directory.
constexpr char kWatchdogScript[] = R"(
root=$1; shift
(
  trap '' HUP INT QUIT TERM PIPE
  line=
  IFS= read -r line <&3
  exec 3<&-
  if [ "$line" != done ]; then
    if [ -f "$root/data/postmaster.pid" ]; then
      "$@" stop -D "$root/data" -m immediate -w -t 30
    fi
    rm -rf "$root"
  fi
) &
)";

absl::StatusOr<int> SpawnWatchdog(const std::string& root_dir,
                                  const std::vector<std::string>& pg_ctl) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  std::vector<std::string> args = {"/bin/sh", "-c", kWatchdogScript, "sh", root_dir};
  args.insert(args.end(), pg_ctl.begin(), pg_ctl.end());
  std::vector<char*> c_args;
  for (auto& a : args) c_args.push_back(a.data());
  c_args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 3);
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  sigset_t defaults, none;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, sig);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, c_args[0], &actions, &attr, c_args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    return absl::InternalError(absl::StrCat("spawning the watchdog: ", std::strerror(rc)));
  }
  // The outer shell exits as soon as it has put the watchdog in the background.
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return fds[1];
}

absl::Status MakeOwnedDir(const std::string& path, bool as_postgres_user, uid_t uid, gid_t gid) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("mkdir ", path, ": ", std::strerror(errno)));
  }
  if (as_postgres_user && chown(path.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", path, ": ", std::strerror(errno)));
  }
  if (chmod(path.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

SubprocessOptions PgOptions(const std::string& working_dir) {
  SubprocessOptions options;
  // PGDATA, PGPORT, PGOPTIONS... from the caller's shell must not leak in.
  options.unset_env_prefixes = {"PG"};
  options.unset_env = {"LANGUAGE"};
  options.env = {{"LC_ALL", "C"}, {"LANG", "C"}};
  options.working_dir = working_dir;
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  absl::StatusOr<std::string> bindir = FindBindir();
  if (!bindir.ok()) return bindir.status();

  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bindir_ = *bindir;
  server->as_postgres_user_ = geteuid() == 0;

  uid_t uid = 0;
  gid_t gid = 0;
  if (server->as_postgres_user_) {
    struct passwd pwd;
    struct passwd* result = nullptr;
    char buffer[4096];
    if (getpwnam_r(kPostgresUser, &pwd, buffer, sizeof(buffer), &result) != 0 ||
        result == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no 'postgres' user to run PostgreSQL as (PostgreSQL "
          "refuses to run as root); install postgresql-15 (scripts/install-deps.sh)");
    }
    uid = pwd.pw_uid;
    gid = pwd.pw_gid;
  }

  std::string root_template = ChooseBaseDir(server->as_postgres_user_) + "/token-pg-XXXXXX";
  if (mkdtemp(root_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", root_template, ": ", strerror(errno)));
  }
  server->root_dir_ = root_template;

  std::vector<std::string> pg_ctl;
  if (server->as_postgres_user_) pg_ctl = {"runuser", "-u", kPostgresUser, "--"};
  pg_ctl.push_back(server->bindir_ + "/pg_ctl");
  absl::StatusOr<int> watchdog = SpawnWatchdog(server->root_dir_, pg_ctl);
  if (!watchdog.ok()) return watchdog.status();
  server->watchdog_fd_ = *watchdog;

  absl::Status status = MakeOwnedDir(server->root_dir_, server->as_postgres_user_, uid, gid);
  if (status.ok()) {
    status = MakeOwnedDir(server->socket_dir(), server->as_postgres_user_, uid, gid);
  }
  if (!status.ok()) return status;

  status = server->RunPgCommand(
      "initdb.log", {server->bindir_ + "/initdb", "-D", server->data_dir(), "--no-sync", "-A",
                     "trust", "-U", kSuperuser, "-E", "UTF8", "--locale=C", "--no-instructions"});
  if (!status.ok()) return status;

  {
    // Appending keeps the file's owner (postgres when root).
    std::ofstream conf(server->data_dir() + "/postgresql.conf", std::ios::app);
    char settings[1024];
    snprintf(settings, sizeof(settings), kServerSettings, server->port_,
             server->socket_dir().c_str());
    conf << settings;
    if (!conf.flush()) return absl::InternalError("cannot append to postgresql.conf");
  }

  status = server->StartServer();
  if (!status.ok()) return status;
  status = server->Psql(absl::StrCat("CREATE DATABASE ", kDatabase), "postgres");
  if (!status.ok()) return status;
  return server;
}

PostgresServer::~PostgresServer() {
  bool clean = true;
  if (running_) clean = StopImmediate().ok();
  if (clean && !root_dir_.empty()) {
    std::error_code error;
    fs::remove_all(root_dir_, error);
    clean = !error;
  }
  if (watchdog_fd_ >= 0) {
    // Without "done" the watchdog retries the cleanup itself.
    if (clean) (void)!write(watchdog_fd_, "done\n", 5);
    close(watchdog_fd_);
  }
}

std::string PostgresServer::conninfo(const std::string& dbname) const {
  return absl::StrCat("host=", socket_dir(), " port=", port_, " dbname=", dbname,
                      " user=", kSuperuser);
}

absl::Status PostgresServer::RunPgCommand(const std::string& log_name,
                                          const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (as_postgres_user_) argv = {"runuser", "-u", kPostgresUser, "--"};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options = PgOptions(root_dir_);
  options.output_path = absl::StrCat(root_dir_, "/", log_name);
  absl::StatusOr<int> exit_code = RunCommand(argv, options, kCommandTimeout);
  if (!exit_code.ok()) return exit_code.status();
  if (*exit_code != 0) {
    std::string message = absl::StrCat("[", absl::StrJoin(argv, " "), "] exited with ", *exit_code,
                                       ":\n", FileTail(options.output_path));
    if (running_ || args[0].ends_with("pg_ctl")) {
      absl::StrAppend(&message, "\nserver log:\n", FileTail(log_path()));
    }
    return absl::InternalError(message);
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::StartServer() {
  absl::Status status = RunPgCommand("pg_ctl.log", {bindir_ + "/pg_ctl", "start", "-D", data_dir(),
                                                    "-l", log_path(), "-w", "-t", "60"});
  if (!status.ok()) return status;
  running_ = true;
  return WaitUntilReady(kReadyTimeout);
}

absl::Status PostgresServer::WaitUntilReady(absl::Duration timeout) const {
  const std::vector<std::string> argv = {bindir_ + "/pg_isready",
                                         "-q",
                                         "-h",
                                         socket_dir(),
                                         "-p",
                                         absl::StrCat(port_),
                                         "-U",
                                         kSuperuser,
                                         "-d",
                                         "postgres",
                                         "-t",
                                         "2"};
  const bool ready = PollUntil(
      [&] {
        absl::StatusOr<int> code = RunCommand(argv, PgOptions(root_dir_), absl::Seconds(10));
        return code.ok() && *code == 0;
      },
      timeout, absl::Milliseconds(50));
  if (!ready) {
    return absl::DeadlineExceededError(
        absl::StrCat("PostgreSQL in ", root_dir_, " not ready after ",
                     absl::FormatDuration(timeout), "; server log:\n", FileTail(log_path())));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::StopImmediate() {
  if (!running_) return absl::FailedPreconditionError("PostgreSQL is not running");
  absl::Status status = RunPgCommand("pg_ctl.log", {bindir_ + "/pg_ctl", "stop", "-D", data_dir(),
                                                    "-m", "immediate", "-w", "-t", "60"});
  if (status.ok()) running_ = false;
  return status;
}

absl::Status PostgresServer::Restart() {
  if (running_) {
    absl::Status status = StopImmediate();
    if (!status.ok()) return status;
  }
  return StartServer();
}

absl::StatusOr<std::string> PostgresServer::RunPsql(const std::vector<std::string>& extra_args,
                                                    const std::string& dbname) const {
  std::vector<std::string> argv = {bindir_ + "/psql",
                                   "-X",
                                   "-q",
                                   "-v",
                                   "ON_ERROR_STOP=1",
                                   "-h",
                                   socket_dir(),
                                   "-p",
                                   absl::StrCat(port_),
                                   "-U",
                                   kSuperuser,
                                   "-d",
                                   dbname};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  const std::string base = absl::StrCat(root_dir_, "/psql-", command_counter_++);
  SubprocessOptions options = PgOptions(root_dir_);
  options.output_path = base + ".out";
  options.stderr_path = base + ".err";
  absl::StatusOr<int> exit_code = RunCommand(argv, options, kCommandTimeout);
  absl::StatusOr<std::string> out = ReadFileToString(options.output_path);
  absl::StatusOr<std::string> err = ReadFileToString(options.stderr_path);
  std::error_code ignored;
  fs::remove(options.output_path, ignored);
  fs::remove(options.stderr_path, ignored);
  if (!exit_code.ok()) return exit_code.status();
  if (*exit_code != 0) {
    return absl::InternalError(absl::StrCat("psql exited with ", *exit_code, ": ",
                                            err.ok() ? Tail(*err) : "",
                                            out.ok() ? Tail(*out) : ""));
  }
  return out.ok() ? *out : std::string();
}

absl::Status PostgresServer::Psql(const std::string& sql, const std::string& dbname) const {
  return RunPsql({"-c", sql}, dbname).status();
}

absl::StatusOr<std::string> PostgresServer::Query(const std::string& sql) const {
  absl::StatusOr<std::string> out = RunPsql({"-A", "-t", "-c", sql}, kDatabase);
  if (!out.ok()) return out.status();
  return std::string(absl::StripSuffix(*out, "\n"));
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) const {
  return Psql(absl::StrCat("CREATE DATABASE \"", name, "\""), "postgres");
}

// PostgresEnvironment.

std::unique_ptr<PostgresServer>& PostgresEnvironment::Instance() {
  static auto* instance = new std::unique_ptr<PostgresServer>();
  return *instance;
}

void PostgresEnvironment::SetUp() {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
  if (!server.ok()) GTEST_FAIL() << "cannot start PostgreSQL for the tests: " << server.status();
  Instance() = *std::move(server);
}

void PostgresEnvironment::TearDown() { Instance().reset(); }

PostgresServer& PostgresEnvironment::Mutable() {
  if (Instance() == nullptr) {
    fprintf(stderr,
            "PostgresEnvironment has no running server: include "
            "\"tests/harness/postgres_environment.h\" in the test binary; if it is included, "
            "start-up failed (see above).\n");
    abort();
  }
  return *Instance();
}

const PostgresServer& PostgresEnvironment::Get() { return Mutable(); }

}  // namespace token::testing
