// SingleFlight: N concurrent callers of one key make one call (counted, not
// timed); a later caller makes a new one; different keys do not share.
#include "client/cpp/single_flight.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/harness/poll.h"

namespace token::client {
namespace {

using ::token::testing::PollUntil;

// Ten callers joining a running call all get its value; the work ran once.
TEST(SingleFlightTest, ConcurrentCallersShareOneCall) {
  SingleFlight<std::string, int> flights;
  std::atomic<int> runs{0};
  absl::Notification release;
  constexpr int kCallers = 10;
  std::vector<std::optional<int>> results(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      results[i] = flights.Do("k", absl::InfiniteDuration(), [&] {
        ++runs;
        release.WaitForNotification();
        return 42;
      });
    });
  }
  ASSERT_TRUE(PollUntil([&] { return flights.Followers("k") == kCallers - 1; }, absl::Seconds(10),
                        absl::Milliseconds(1)));
  release.Notify();
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, 42);
  EXPECT_EQ(flights.Followers("k"), 0);
}

// Once a call has finished, the next caller runs the work again.
TEST(SingleFlightTest, SequentialCallersRunAgain) {
  SingleFlight<std::string, int> flights;
  int runs = 0;
  EXPECT_EQ(flights.Do("k", absl::InfiniteDuration(), [&] { return ++runs; }), 1);
  EXPECT_EQ(flights.Do("k", absl::InfiniteDuration(), [&] { return ++runs; }), 2);
}

// A caller of another key is not held up by a running call.
TEST(SingleFlightTest, DifferentKeysDoNotShare) {
  SingleFlight<std::string, int> flights;
  absl::Notification release;
  std::thread blocked([&] {
    (void)flights.Do("a", absl::InfiniteDuration(), [&] {
      release.WaitForNotification();
      return 1;
    });
  });
  EXPECT_EQ(flights.Do("b", absl::InfiniteDuration(), [] { return 2; }), 2);
  release.Notify();
  blocked.join();
}

// A follower whose deadline passes gets nullopt; the leader still finishes.
TEST(SingleFlightTest, FollowerGivesUpAtItsDeadline) {
  SingleFlight<std::string, int> flights;
  absl::Notification started, release;
  std::optional<int> leader;
  std::thread t([&] {
    leader = flights.Do("k", absl::InfiniteDuration(), [&] {
      started.Notify();
      release.WaitForNotification();
      return 7;
    });
  });
  started.WaitForNotification();
  EXPECT_EQ(flights.Do("k", absl::Milliseconds(20), [] { return -1; }), std::nullopt);
  release.Notify();
  t.join();
  EXPECT_EQ(leader, 7);
}

}  // namespace
}  // namespace token::client
