#include "server/common/error_reason.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace token {
namespace {

struct ReasonCase {
  ErrorReason reason;
  const char* name;
  absl::StatusCode code;
};

// The documented table of proto/token/v1/token.proto.
const std::vector<ReasonCase>& AllReasons() {
  using C = absl::StatusCode;
  static const std::vector<ReasonCase> kCases = {
      {ErrorReason::kInvalidSubject, "INVALID_SUBJECT", C::kInvalidArgument},
      {ErrorReason::kInvalidClaims, "INVALID_CLAIMS", C::kInvalidArgument},
      {ErrorReason::kInvalidSessionId, "INVALID_SESSION_ID", C::kInvalidArgument},
      {ErrorReason::kInvalidPageToken, "INVALID_PAGE_TOKEN", C::kInvalidArgument},
      {ErrorReason::kInvalidRequest, "INVALID_REQUEST", C::kInvalidArgument},
      {ErrorReason::kRefreshTokenInvalid, "REFRESH_TOKEN_INVALID", C::kUnauthenticated},
      {ErrorReason::kRefreshTokenExpired, "REFRESH_TOKEN_EXPIRED", C::kUnauthenticated},
      {ErrorReason::kSessionRevoked, "SESSION_REVOKED", C::kUnauthenticated},
      {ErrorReason::kRefreshTokenReused, "REFRESH_TOKEN_REUSED", C::kUnauthenticated},
      {ErrorReason::kTokenMalformed, "TOKEN_MALFORMED", C::kUnauthenticated},
      {ErrorReason::kTokenSignatureInvalid, "TOKEN_SIGNATURE_INVALID", C::kUnauthenticated},
      {ErrorReason::kTokenExpired, "TOKEN_EXPIRED", C::kUnauthenticated},
      {ErrorReason::kTokenNotYetValid, "TOKEN_NOT_YET_VALID", C::kUnauthenticated},
      {ErrorReason::kTokenAudienceMismatch, "TOKEN_AUDIENCE_MISMATCH", C::kUnauthenticated},
      {ErrorReason::kTokenIssuerMismatch, "TOKEN_ISSUER_MISMATCH", C::kUnauthenticated},
      {ErrorReason::kTokenRevoked, "TOKEN_REVOKED", C::kUnauthenticated},
      {ErrorReason::kMissingRole, "MISSING_ROLE", C::kPermissionDenied},
      {ErrorReason::kDatabaseUnavailable, "DATABASE_UNAVAILABLE", C::kUnavailable},
      {ErrorReason::kServiceNotReady, "SERVICE_NOT_READY", C::kUnavailable},
      {ErrorReason::kOverloaded, "OVERLOADED", C::kResourceExhausted},
      {ErrorReason::kRateLimited, "RATE_LIMITED", C::kResourceExhausted},
      {ErrorReason::kDeadlineExceeded, "DEADLINE_EXCEEDED", C::kDeadlineExceeded},
  };
  return kCases;
}

// Every reason has its documented wire string and status code.
TEST(ErrorReasonTest, EachReasonMapsToDocumentedNameAndCode) {
  for (const ReasonCase& c : AllReasons()) {
    EXPECT_EQ(ErrorReasonName(c.reason), c.name);
    EXPECT_EQ(ErrorReasonCode(c.reason), c.code) << c.name;
  }
}

// No two reasons share a wire string.
TEST(ErrorReasonTest, NamesAreUnique) {
  const auto& cases = AllReasons();
  for (size_t i = 0; i < cases.size(); ++i) {
    for (size_t j = i + 1; j < cases.size(); ++j) {
      EXPECT_NE(ErrorReasonName(cases[i].reason), ErrorReasonName(cases[j].reason));
    }
  }
}

// MakeError keeps the message, uses the reason's code, and ReasonOf reads the reason back.
TEST(ErrorReasonTest, MakeErrorRoundTripsThroughReasonOf) {
  for (const ReasonCase& c : AllReasons()) {
    const absl::Status status = MakeError(c.reason, "something went wrong");
    EXPECT_EQ(status.code(), c.code) << c.name;
    EXPECT_EQ(status.message(), "something went wrong");
    EXPECT_EQ(ReasonOf(status), c.reason) << c.name;
  }
}

// The reason survives copying the status, as it does when passed up the stack.
TEST(ErrorReasonTest, CopiedStatusKeepsReason) {
  const absl::Status original = MakeError(ErrorReason::kTokenExpired, "token has expired");
  const absl::Status copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(ReasonOf(copy), ErrorReason::kTokenExpired);
}

// A plain status, an OK status and a status with an unknown reason carry none.
TEST(ErrorReasonTest, PlainStatusHasNoReason) {
  EXPECT_EQ(ReasonOf(absl::UnauthenticatedError("no")), std::nullopt);
  EXPECT_EQ(ReasonOf(absl::OkStatus()), std::nullopt);
  absl::Status foreign = absl::InternalError("x");
  foreign.SetPayload("type.googleapis.com/some.other.Payload", absl::Cord("TOKEN_EXPIRED"));
  EXPECT_EQ(ReasonOf(foreign), std::nullopt);
}

}  // namespace
}  // namespace token
