// FileChangeDetector: each distinct state of a watcher's files is loaded,
// and each failure reported, once.
#include "server/common/file_change_detector.h"

#include "gtest/gtest.h"

namespace token {
namespace {

using Verdict = FileChangeDetector::Verdict;

TEST(FileChangeDetectorTest, EverythingIsNewBeforeTheFirstLoad) {
  FileChangeDetector detector;
  EXPECT_EQ(detector.Classify("a"), Verdict::kNew);
  EXPECT_EQ(detector.Classify(""), Verdict::kNew);
  EXPECT_FALSE(detector.IsLatest(""));
}

TEST(FileChangeDetectorTest, AppliedStateIsNotLoadedAgain) {
  FileChangeDetector detector;
  detector.Applied("a");
  EXPECT_EQ(detector.Classify("a"), Verdict::kApplied);
  EXPECT_TRUE(detector.IsLatest("a"));
  EXPECT_EQ(detector.Classify("b"), Verdict::kNew);
  EXPECT_FALSE(detector.IsLatest("b"));
}

TEST(FileChangeDetectorTest, RejectedStateWaitsForAChangeAndKeepsTheAppliedOne) {
  FileChangeDetector detector;
  detector.Applied("a");
  detector.Rejected("b");
  EXPECT_EQ(detector.Classify("b"), Verdict::kRejected);
  EXPECT_EQ(detector.Classify("a"), Verdict::kApplied);
  EXPECT_EQ(detector.Classify("c"), Verdict::kNew);
  // The last state read was "b": going back to "a" differs from it.
  EXPECT_TRUE(detector.IsLatest("b"));
  EXPECT_FALSE(detector.IsLatest("a"));

  detector.Rejected("c");  // A second broken state replaces the first.
  EXPECT_EQ(detector.Classify("b"), Verdict::kNew);
  EXPECT_EQ(detector.Classify("c"), Verdict::kRejected);

  detector.Applied("d");  // A good state forgets the rejection.
  EXPECT_EQ(detector.Classify("c"), Verdict::kNew);
  EXPECT_EQ(detector.Classify("a"), Verdict::kNew);
  EXPECT_TRUE(detector.IsLatest("d"));
}

TEST(FileChangeDetectorTest, ReadFailureIsReportedOncePerDistinctError) {
  FileChangeDetector detector;
  EXPECT_TRUE(detector.ReadFailed("gone"));
  EXPECT_FALSE(detector.ReadFailed("gone"));
  EXPECT_TRUE(detector.ReadFailed("denied"));
  EXPECT_FALSE(detector.ReadFailed("denied"));
  detector.ReadSucceeded();
  EXPECT_TRUE(detector.ReadFailed("denied"));  // A new run of failures.
}

TEST(FileChangeDetectorTest, ForgetFailuresReportsAndLoadsAgainButKeepsTheAppliedState) {
  FileChangeDetector detector;
  detector.Applied("a");
  detector.Rejected("b");
  ASSERT_TRUE(detector.ReadFailed("gone"));
  detector.ForgetFailures();
  EXPECT_EQ(detector.Classify("b"), Verdict::kNew);
  EXPECT_EQ(detector.Classify("a"), Verdict::kApplied);
  EXPECT_TRUE(detector.IsLatest("a"));
  EXPECT_TRUE(detector.ReadFailed("gone"));
}

}  // namespace
}  // namespace token
