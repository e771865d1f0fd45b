#include "server/health/clock_offset.h"

#include "gtest/gtest.h"

namespace token {
namespace {

const absl::Time kSent = absl::FromUnixSeconds(1'800'000'000);

// A database reading halfway through the round trip is no offset at all.
TEST(ClockOffsetTest, ReadingAtMidpointIsNoOffset) {
  const ClockOffsetCheck c = CheckClockOffset(kSent, kSent + absl::Milliseconds(20),
                                              kSent + absl::Milliseconds(10), absl::Seconds(2));
  EXPECT_EQ(c.offset, absl::ZeroDuration());
  EXPECT_EQ(c.uncertainty, absl::Milliseconds(10));
  EXPECT_TRUE(c.ok);
}

// A replica 3 s ahead of the database is beyond a 2 s bound, either way.
TEST(ClockOffsetTest, OffsetBeyondBoundFailsInBothDirections) {
  const absl::Time received = kSent + absl::Milliseconds(2);
  const ClockOffsetCheck ahead = CheckClockOffset(
      kSent, received, kSent + absl::Milliseconds(1) - absl::Seconds(3), absl::Seconds(2));
  EXPECT_EQ(ahead.offset, absl::Seconds(3));
  EXPECT_FALSE(ahead.ok);
  const ClockOffsetCheck behind = CheckClockOffset(
      kSent, received, kSent + absl::Milliseconds(1) + absl::Seconds(3), absl::Seconds(2));
  EXPECT_EQ(behind.offset, -absl::Seconds(3));
  EXPECT_FALSE(behind.ok);
  EXPECT_NE(behind.detail.find("--max-clock-offset"), std::string::npos);
}

// Exactly at the bound is still tolerated.
TEST(ClockOffsetTest, OffsetAtBoundPasses) {
  EXPECT_TRUE(CheckClockOffset(kSent, kSent, kSent - absl::Seconds(2), absl::Seconds(2)).ok);
}

}  // namespace
}  // namespace token
