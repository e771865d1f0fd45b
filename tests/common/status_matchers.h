// HasReason: the assertion the unit tests make about a refused call, that it
// failed with a given ErrorReason and the status code that reason travels
// with (server/common/error_reason.h).
// Test-only: tests/CMakeLists.txt defines TOKEN_TEST_ONLY for every target
// under tests/, so production code that includes this fails to compile.
#ifndef TOKEN_TESTS_COMMON_STATUS_MATCHERS_H_
#define TOKEN_TESTS_COMMON_STATUS_MATCHERS_H_

#ifndef TOKEN_TEST_ONLY
#error "tests/common/status_matchers.h is for tests only"
#endif

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"

namespace token::test {

// HasReason checks that `status` failed with `reason` and the reason's code;
// use as EXPECT_TRUE(HasReason(status, ErrorReason::...)).
inline ::testing::AssertionResult HasReason(const absl::Status& status, ErrorReason reason) {
  if (status.ok()) {
    return ::testing::AssertionFailure() << "OK, expected " << ErrorReasonName(reason);
  }
  if (ReasonOf(status) != reason || status.code() != ErrorReasonCode(reason)) {
    return ::testing::AssertionFailure()
           << "got " << status << ", expected " << ErrorReasonName(reason);
  }
  return ::testing::AssertionSuccess();
}

// HasReason checks that `result` failed with `reason` and the reason's code.
template <typename T>
::testing::AssertionResult HasReason(const absl::StatusOr<T>& result, ErrorReason reason) {
  return HasReason(result.status(), reason);
}

}  // namespace token::test

#endif  // TOKEN_TESTS_COMMON_STATUS_MATCHERS_H_
