#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness/poll.h"
#include "tests/harness/ports.h"
#include "tests/harness/postgres_fixture.h"
#include "tests/harness/subprocess.h"

namespace token::testing {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  const char* tmp = getenv("TMPDIR");
  return absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/harness_test-", getpid(),
                      "-", name);
}

pid_t PostmasterPid(const PostgresServer& server) {
  absl::StatusOr<std::string> pidfile = ReadFileToString(server.data_dir() + "/postmaster.pid");
  if (!pidfile.ok()) return -1;
  int pid = -1;
  std::string first_line(pidfile->substr(0, pidfile->find('\n')));
  return absl::SimpleAtoi(first_line, &pid) ? pid : -1;
}

// Gone or a zombie: orphans are reaped by init, which may take its time.
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  absl::StatusOr<std::string> stat = ReadFileToString(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return true;
  const size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z';
}

TEST(PostgresServerTest, RunsQueriesSurvivesRestartAndCleansUp) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> started = PostgresServer::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<PostgresServer> server = *std::move(started);

  EXPECT_EQ(server->conninfo(), absl::StrCat("host=", server->socket_dir(),
                                             " port=", server->port(), " dbname=token user=token"));
  EXPECT_TRUE(fs::exists(absl::StrCat(server->socket_dir(), "/.s.PGSQL.", server->port())));
  EXPECT_TRUE(server->Psql("SELECT 1").ok());
  EXPECT_EQ(server->Query("SELECT 1").value_or("error"), "1");
  EXPECT_EQ(server->Query("SELECT current_user || ',' || current_database()").value_or("error"),
            "token,token");
  EXPECT_EQ(server->Query("SHOW listen_addresses").value_or("error"), "");
  absl::Status bad = server->Psql("SELEC 1");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.message(), "syntax error")) << bad;

  ASSERT_TRUE(server->Psql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)").ok());
  const pid_t first_postmaster = PostmasterPid(*server);
  ASSERT_GT(first_postmaster, 0);

  ASSERT_TRUE(server->StopImmediate().ok());
  EXPECT_FALSE(server->running());
  EXPECT_FALSE(server->Query("SELECT 1").ok());
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(first_postmaster); }, absl::Seconds(10)));

  ASSERT_TRUE(server->Restart().ok());
  EXPECT_TRUE(server->running());
  // Committed before the crash-like stop, so still there.
  EXPECT_EQ(server->Query("SELECT v FROM kept").value_or("error"), "42");
  // Restart also works on a running server.
  ASSERT_TRUE(server->Restart().ok());
  EXPECT_EQ(server->Query("SELECT count(*) FROM kept").value_or("error"), "1");

  ASSERT_TRUE(server->CreateDatabase("other").ok());
  EXPECT_EQ(
      server->Query("SELECT count(*) FROM pg_database WHERE datname = 'other'").value_or("error"),
      "1");

  const std::string root = server->root_dir();
  const pid_t postmaster = PostmasterPid(*server);
  ASSERT_TRUE(fs::exists(root));
  server.reset();
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(postmaster); }, absl::Seconds(10)));
}

TEST(PostgresServerTest, WatchdogCleansUpWhenTheTestProcessIsKilled) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<PostgresServer>> server = PostgresServer::Start();
    std::string report = "error";
    if (server.ok()) report = absl::StrCat((*server)->root_dir(), " ", PostmasterPid(**server));
    (void)!write(fds[1], report.data(), report.size());
    close(fds[1]);
    raise(SIGKILL);  // No destructors: the watchdog must clean up.
    _exit(1);
  }
  close(fds[1]);
  std::string report;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) report.append(buffer, n);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));

  std::vector<std::string> parts = absl::StrSplit(report, ' ');
  ASSERT_EQ(parts.size(), 2u) << report;
  const std::string root = parts[0];
  int postmaster = -1;
  ASSERT_TRUE(absl::SimpleAtoi(parts[1], &postmaster)) << report;
  EXPECT_TRUE(
      PollUntil([&] { return ProcessGone(postmaster) && !fs::exists(root); }, absl::Seconds(60)))
      << root << " or postmaster " << postmaster << " left behind";
}

TEST(PostgresEnvironmentTest, StartsAndStopsTheSharedServer) {
  // Tests get this through postgres_environment.h; here it is driven by hand
  // so that the other tests of this binary do not pay for a server.
  PostgresEnvironment environment;
  environment.SetUp();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_EQ(PostgresEnvironment::Get().Query("SELECT 1").value_or("error"), "1");
  const std::string root = PostgresEnvironment::Get().root_dir();
  ASSERT_TRUE(PostgresEnvironment::Mutable().Restart().ok());
  EXPECT_EQ(PostgresEnvironment::Get().Query("SELECT 2").value_or("error"), "2");
  environment.TearDown();
  EXPECT_FALSE(fs::exists(root));
}

TEST(SubprocessTest, ReportsExitCodes) {
  EXPECT_EQ(RunCommand({"/bin/sh", "-c", "exit 7"}, {}, absl::Seconds(30)).value_or(-1), 7);
  EXPECT_EQ(RunCommand({"true"}, {}, absl::Seconds(30)).value_or(-1), 0);
  EXPECT_EQ(RunCommand({"/bin/sh", "-c", "kill -TERM $$"}, {}, absl::Seconds(30)).value_or(-1),
            128 + SIGTERM);
  EXPECT_FALSE(Subprocess::Spawn({"/nonexistent/binary"}).ok());
  EXPECT_FALSE(Subprocess::Spawn({"no-such-program-anywhere"}).ok());
}

TEST(SubprocessTest, TimesOutThenStopsOnSignal) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Spawn({"sleep", "60"});
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_TRUE((*process)->IsRunning());
  absl::StatusOr<int> early = (*process)->WaitForExit(absl::Milliseconds(100));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE((*process)->Signal(SIGTERM).ok());
  EXPECT_EQ((*process)->WaitForExit(absl::Seconds(30)).value_or(-1), 128 + SIGTERM);
  EXPECT_FALSE((*process)->IsRunning());
  EXPECT_EQ((*process)->WaitForExit(absl::ZeroDuration()).value_or(-1), 128 + SIGTERM);
  EXPECT_EQ((*process)->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SubprocessTest, RunCommandKillsOnTimeout) {
  const absl::Time start = absl::Now();
  absl::StatusOr<int> result = RunCommand({"sleep", "60"}, {}, absl::Milliseconds(200));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(SubprocessTest, DestructorKillsAndReaps) {
  const std::string pidfile = TempPath("grandchild.pid");
  pid_t pid = -1;
  {
    absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(
        {"/bin/sh", "-c", absl::StrCat("sleep 60 & echo $! > ", pidfile, "; wait")});
    ASSERT_TRUE(process.ok()) << process.status();
    pid = (*process)->pid();
    ASSERT_TRUE(PollUntil([&] { return ReadFileToString(pidfile).value_or("").ends_with("\n"); },
                          absl::Seconds(10)));
  }
  // Reaped, so not even a zombie is left; the grandchild shared its process group.
  EXPECT_TRUE(ProcessGone(pid));
  int grandchild = -1;
  std::string content = ReadFileToString(pidfile).value_or("");
  ASSERT_TRUE(absl::SimpleAtoi(content.substr(0, content.find('\n')), &grandchild));
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(grandchild); }, absl::Seconds(10)));
  fs::remove(pidfile);
}

TEST(SubprocessTest, RedirectsOutputAndSetsEnvironment) {
  const std::string out = TempPath("out.log");
  const std::string err = TempPath("err.log");
  fs::remove(out);
  fs::remove(err);
  setenv("HARNESS_TEST_DROPPED", "leaked", 1);
  SubprocessOptions options;
  options.env = {{"HARNESS_TEST_VAR", "hello"}, {"HOME", "/nowhere"}};
  options.unset_env_prefixes = {"HARNESS_TEST_DROP"};
  options.output_path = out;
  options.working_dir = "/";
  EXPECT_EQ(RunCommand({"/bin/sh", "-c",
                        "echo $HARNESS_TEST_VAR $HOME ${HARNESS_TEST_DROPPED:-unset} $(pwd); "
                        "echo oops >&2"},
                       options, absl::Seconds(30))
                .value_or(-1),
            0);
  EXPECT_EQ(ReadFileToString(out).value_or(""), "hello /nowhere unset /\noops\n");

  options.stderr_path = err;
  EXPECT_EQ(RunCommand({"/bin/sh", "-c", "echo again; echo oops >&2"}, options, absl::Seconds(30))
                .value_or(-1),
            0);
  EXPECT_EQ(ReadFileToString(out).value_or(""), "hello /nowhere unset /\noops\nagain\n");
  EXPECT_EQ(ReadFileToString(err).value_or(""), "oops\n");
  unsetenv("HARNESS_TEST_DROPPED");
  fs::remove(out);
  fs::remove(err);
}

TEST(PortsTest, PicksABindablePort) {
  const int port = UnusedLoopbackPort();
  ASSERT_GT(port, 0);
  ASSERT_LT(port, 65536);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
}

TEST(PollTest, ReturnsAsSoonAsTrueAndFalseAtDeadline) {
  int calls = 0;
  EXPECT_TRUE(PollUntil([&] { return ++calls >= 3; }, absl::Seconds(10), absl::Milliseconds(1)));
  EXPECT_EQ(calls, 3);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(PollUntil([] { return false; }, absl::Milliseconds(100)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  calls = 0;
  EXPECT_FALSE(PollUntil([&] { return ++calls > 1; }, absl::ZeroDuration()));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace token::testing
