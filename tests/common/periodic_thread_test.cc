// PeriodicThread: runs repeatedly until stopped, and no run happens once
// Stop (or the destructor) has returned.
#include "server/common/periodic_thread.h"

#include <atomic>

#include "gtest/gtest.h"
#include "tests/harness/poll.h"

namespace token {
namespace {

using ::token::testing::PollUntil;

TEST(PeriodicThreadTest, RunsRepeatedlyUntilStopped) {
  std::atomic<int> runs{0};
  PeriodicThread thread;
  thread.Start(absl::Milliseconds(1), [&] { ++runs; });
  EXPECT_TRUE(PollUntil([&] { return runs.load() >= 3; }, absl::Seconds(10)));
  thread.Stop();
  const int after_stop = runs.load();
  // Stop joined the thread: a second Stop is a no-op and nothing runs again.
  thread.Stop();
  EXPECT_EQ(runs.load(), after_stop);
}

TEST(PeriodicThreadTest, StopBeforeStartAndDestructionAreSafe) {
  PeriodicThread never_started;
  never_started.Stop();
  std::atomic<int> runs{0};
  {
    PeriodicThread scoped;
    scoped.Start(absl::Hours(1), [&] { ++runs; });
  }  // the destructor stops it without waiting out the interval
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace
}  // namespace token
