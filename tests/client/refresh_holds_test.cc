// RefreshHolds on its own: what is held, for how long, and that entries end.
#include "client/cpp/refresh_holds.h"

#include "gtest/gtest.h"

namespace token::client {
namespace {

constexpr absl::Duration kMargin = absl::Milliseconds(100);
const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(RefreshHoldsTest, AnswerWithoutDoubtHoldsNothing) {
  RefreshHolds holds(kMargin);
  holds.RecordAnswered("a", "a1", kStart);
  EXPECT_EQ(holds.HeldUntil("a1", kStart), absl::InfinitePast());
  EXPECT_EQ(holds.Size(), 0u);
}

TEST(RefreshHoldsTest, SuccessorIsHeldUntilTheLatestUnansweredDeadlinePlusMargin) {
  RefreshHolds holds(kMargin);
  holds.RecordUnanswered("a", kStart + absl::Seconds(2), kStart);
  holds.RecordUnanswered("a", kStart + absl::Seconds(1), kStart);  // an earlier one: no effect
  holds.RecordAnswered("a", "a1", kStart + absl::Milliseconds(10));
  const absl::Time until = kStart + absl::Seconds(2) + kMargin;
  EXPECT_EQ(holds.HeldUntil("a1", kStart + absl::Seconds(1)), until);
  EXPECT_EQ(holds.HeldUntil("a1", until), absl::InfinitePast());
  // The parent's doubt is settled by the answer; another answer holds nothing new.
  holds.RecordAnswered("a", "other", kStart + absl::Milliseconds(20));
  EXPECT_EQ(holds.HeldUntil("other", kStart + absl::Milliseconds(20)), absl::InfinitePast());
}

TEST(RefreshHoldsTest, DoubtThatEndedBeforeTheAnswerHoldsNothing) {
  RefreshHolds holds(kMargin);
  holds.RecordUnanswered("a", kStart + absl::Seconds(1), kStart);
  holds.RecordAnswered("a", "a1", kStart + absl::Seconds(2));
  EXPECT_EQ(holds.HeldUntil("a1", kStart + absl::Seconds(2)), absl::InfinitePast());
}

TEST(RefreshHoldsTest, EntriesArePrunedOnceTheirTimeHasPassed) {
  RefreshHolds holds(kMargin);
  for (int i = 0; i < 100; ++i) {
    holds.RecordUnanswered("t" + std::to_string(i), kStart + absl::Seconds(1), kStart);
  }
  holds.RecordAnswered("t0", "t0-next", kStart);
  EXPECT_EQ(holds.Size(), 100u);
  holds.RecordUnanswered("late", kStart + absl::Seconds(10), kStart + absl::Seconds(5));
  EXPECT_EQ(holds.Size(), 1u);
}

}  // namespace
}  // namespace token::client
