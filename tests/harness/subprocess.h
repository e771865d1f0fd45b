#ifndef TOKEN_TESTS_HARNESS_SUBPROCESS_H_
#define TOKEN_TESTS_HARNESS_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace token::testing {

struct SubprocessOptions {
  // Variables added to, or replacing those of, the inherited environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Inherited variables to drop, by exact name and by prefix (for example
  // "TOKEN_", so a developer's shell cannot change what a test runs).
  std::vector<std::string> unset_env;
  std::vector<std::string> unset_env_prefixes;
  // When non-empty, stdout (and stderr, unless stderr_path is set) is appended
  // to this file, created with mode 0644 if needed. Otherwise it is inherited.
  std::string output_path;
  // When non-empty, stderr is appended to this file instead.
  std::string stderr_path;
  // When non-empty, the child starts in this directory.
  std::string working_dir;
};

// A child process, killed (SIGKILL to its process group) and reaped on
// destruction if it is still running. stdin is /dev/null. The child leads its
// own process group, so a terminal's Ctrl-C does not reach it directly.
// argv[0] without a '/' is looked up in PATH.
class Subprocess {
 public:
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const std::vector<std::string>& argv,
                                                           const SubprocessOptions& options = {});

  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // True until the child has exited. Reaps it if it has.
  bool IsRunning();

  // Sends `signal` to the child (not its process group). FailedPrecondition
  // if it has already been reaped.
  absl::Status Signal(int signal);

  // Waits up to `timeout` for the child to exit, polling waitpid. Returns the
  // exit code, or 128 + the signal number if a signal ended it (as a shell
  // reports it). DeadlineExceeded if it is still running; the child is left
  // alone. Once the child has exited every call returns the same value.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  bool TryReap();

  pid_t pid_;
  std::optional<int> exit_status_;  // Set once reaped.
};

// Runs `argv` to completion. Returns its exit status as WaitForExit does;
// on timeout the child is killed and DeadlineExceeded returned.
absl::StatusOr<int> RunCommand(const std::vector<std::string>& argv,
                               const SubprocessOptions& options, absl::Duration timeout);

// The whole content of a file, e.g. a log written through output_path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace token::testing

#endif  // TOKEN_TESTS_HARNESS_SUBPROCESS_H_
