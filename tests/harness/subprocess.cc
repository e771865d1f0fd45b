#include "tests/harness/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace token::testing {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> BuildEnvironment(const SubprocessOptions& options) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string var(*entry);
    const std::string name = var.substr(0, var.find('='));
    bool drop = false;
    for (const auto& unset : options.unset_env) drop = drop || name == unset;
    for (const auto& prefix : options.unset_env_prefixes) {
      drop = drop || absl::StartsWith(name, prefix);
    }
    for (const auto& [key, value] : options.env) drop = drop || name == key;
    if (!drop) result.push_back(var);
  }
  for (const auto& [key, value] : options.env) result.push_back(absl::StrCat(key, "=", value));
  return result;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Owns posix_spawn's attribute and file-action objects.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Spawn(const std::vector<std::string>& argv,
                                                              const SubprocessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("Subprocess::Spawn: empty argv");
  std::vector<std::string> args = argv;
  std::vector<std::string> env = BuildEnvironment(options);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);

  SpawnSetup setup;
  int rc =
      posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  constexpr int kOutFlags = O_WRONLY | O_CREAT | O_APPEND;
  if (rc == 0 && !options.output_path.empty()) {
    rc = posix_spawn_file_actions_addopen(setup.actions(), STDOUT_FILENO,
                                          options.output_path.c_str(), kOutFlags, 0644);
    if (rc == 0 && options.stderr_path.empty()) {
      rc = posix_spawn_file_actions_adddup2(setup.actions(), STDOUT_FILENO, STDERR_FILENO);
    }
  }
  if (rc == 0 && !options.stderr_path.empty()) {
    rc = posix_spawn_file_actions_addopen(setup.actions(), STDERR_FILENO,
                                          options.stderr_path.c_str(), kOutFlags, 0644);
  }
  if (rc == 0 && !options.working_dir.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(setup.actions(), options.working_dir.c_str());
  }
  if (rc == 0) rc = posix_spawnattr_setpgroup(setup.attr(), 0);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) {
    sigaddset(&default_signals, sig);
  }
  sigset_t no_signals;
  sigemptyset(&no_signals);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(setup.attr(), &default_signals);
  if (rc == 0) rc = posix_spawnattr_setsigmask(setup.attr(), &no_signals);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        setup.attr(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn setup: ", std::strerror(rc)));
  }

  pid_t pid = -1;
  const bool search_path = argv[0].find('/') == std::string::npos;
  rc = search_path ? posix_spawnp(&pid, c_args[0], setup.actions(), setup.attr(), c_args.data(),
                                  c_env.data())
                   : posix_spawn(&pid, c_args[0], setup.actions(), setup.attr(), c_args.data(),
                                 c_env.data());
  if (rc != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run [", absl::StrJoin(argv, " "), "]: ", std::strerror(rc)));
  }
  return std::unique_ptr<Subprocess>(new Subprocess(pid));
}

Subprocess::~Subprocess() {
  // Once reaped, the pid (and so the process group id) may have been reused.
  if (exit_status_.has_value()) return;
  kill(-pid_, SIGKILL);  // Also whatever it started in its process group.
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool Subprocess::TryReap() {
  if (exit_status_.has_value()) return true;
  int status = 0;
  pid_t rc;
  do {
    rc = waitpid(pid_, &status, WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc == pid_) {
    exit_status_ = DecodeWaitStatus(status);
    return true;
  }
  if (rc < 0) {
    // ECHILD: someone else reaped it (e.g. a SIGCHLD handler set to SIG_IGN).
    exit_status_ = -1;
    return true;
  }
  return false;
}

bool Subprocess::IsRunning() { return !TryReap(); }

absl::Status Subprocess::Signal(int signal) {
  if (TryReap()) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " has already exited with ", *exit_status_));
  }
  if (kill(pid_, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill(", pid_, ", ", signal, "): ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Subprocess::WaitForExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration interval = absl::Milliseconds(1);
  while (!TryReap()) {
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(std::min(interval, deadline - now));
    interval = std::min(interval * 2, absl::Milliseconds(20));
  }
  return *exit_status_;
}

absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv,
                               const SubprocessOptions& options, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(argv, options);
  if (!process.ok()) return process.status();
  absl::StatusOr<int> result = (*process)->WaitForExit(timeout);
  if (!result.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("[", absl::StrJoin(argv, " "), "] ", result.status().message(), "; killed"));
  }
  return result;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace token::testing
