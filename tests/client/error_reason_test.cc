// The client reads reasons as the enum generated from
// proto/token/v1/error_reason.proto; anything else is ERROR_REASON_UNSPECIFIED.
#include "client/cpp/error_reason.h"

#include <string>

#include "client/cpp/result.h"
#include "gtest/gtest.h"
#include "tests/client/fake_transport.h"

namespace token::client {
namespace {

using testing::ErrorStatus;

// Every reason of the proto parses back to itself from its wire string.
TEST(ClientErrorReasonTest, EveryProtoReasonRoundTripsThroughItsName) {
  const auto* descriptor = v1::ErrorReason_descriptor();
  for (int i = 0; i < descriptor->value_count(); ++i) {
    const auto reason = static_cast<ErrorReason>(descriptor->value(i)->number());
    if (reason == ErrorReason::ERROR_REASON_UNSPECIFIED) continue;
    EXPECT_EQ(ErrorReasonName(reason), descriptor->value(i)->name());
    EXPECT_EQ(ParseErrorReason(ErrorReasonName(reason)), reason);
  }
  EXPECT_EQ(ErrorReasonName(ErrorReason::ERROR_REASON_UNSPECIFIED), "");
}

// A reason this client does not know is UNSPECIFIED, not a crash, and its
// wire string is kept for display.
TEST(ClientErrorReasonTest, UnknownReasonIsUnspecifiedButKeptByName) {
  EXPECT_EQ(ParseErrorReason("SOMETHING_NEW"), ErrorReason::ERROR_REASON_UNSPECIFIED);
  EXPECT_EQ(ParseErrorReason(""), ErrorReason::ERROR_REASON_UNSPECIFIED);
  EXPECT_EQ(ParseErrorReason("ERROR_REASON_UNSPECIFIED"), ErrorReason::ERROR_REASON_UNSPECIFIED);
  const grpc::Status status = ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "SOMETHING_NEW");
  EXPECT_EQ(ErrorReasonOf(status), ErrorReason::ERROR_REASON_UNSPECIFIED);
  const Error error = Error::FromStatus(status, 1);
  EXPECT_EQ(error.reason, ErrorReason::ERROR_REASON_UNSPECIFIED);
  EXPECT_EQ(error.reason_name, "SOMETHING_NEW");
  EXPECT_EQ(error.ToString().find("UNAUTHENTICATED/SOMETHING_NEW"), 0u) << error.ToString();
}

// The reason is read from the ErrorInfo of domain token.v1 in the details.
TEST(ClientErrorReasonTest, ReadsReasonFromStatusDetails) {
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "TOKEN_REVOKED")),
            ErrorReason::TOKEN_REVOKED);
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::PERMISSION_DENIED, "MISSING_ROLE")),
            ErrorReason::MISSING_ROLE);
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE")),
            ErrorReason::DATABASE_UNAVAILABLE);
}

// No details, unparsable details or another domain: no reason at all.
TEST(ClientErrorReasonTest, MissingOrForeignDetailsHaveNoReason) {
  for (const grpc::Status& status :
       {grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"),
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", "\xff\xff garbage"),
        ErrorStatus(grpc::StatusCode::UNAVAILABLE, "TOKEN_REVOKED", "m", "other.domain"),
        grpc::Status::OK}) {
    EXPECT_EQ(ErrorInfoReason(status), "") << status.error_message();
    EXPECT_EQ(ErrorReasonOf(status), ErrorReason::ERROR_REASON_UNSPECIFIED);
  }
}

TEST(ClientErrorReasonTest, StatusCodeNamesAreCanonical) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace token::client
