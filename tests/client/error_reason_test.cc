// The client's ErrorReason mirrors the service's wire strings exactly, and
// anything else maps to kUnknown (a new reason) or kNone (no ErrorInfo).
#include "client/cpp/error_reason.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "tests/client/fake_transport.h"

namespace token::client {
namespace {

using testing::ErrorStatus;

// The client mirrors the server's wire strings both ways: every reason the
// server can send parses to a known value with the same name, and every
// value the client knows is one the server sends.
TEST(ClientErrorReasonTest, MirrorsEveryServerReasonBothWays) {
  std::set<std::string> server_names;
  // Out-of-range values hit the server's unreachable fallback, an existing
  // name, so scanning past the end adds nothing.
  for (int i = 0; i < 64; ++i) {
    server_names.insert(std::string(token::ErrorReasonName(static_cast<token::ErrorReason>(i))));
  }
  for (const std::string& name : server_names) {
    const ErrorReason parsed = ParseErrorReason(name);
    EXPECT_NE(parsed, ErrorReason::kUnknown) << name << " is missing from client::ErrorReason";
    EXPECT_EQ(ErrorReasonName(parsed), name);
  }
  // Client values after kNone and kUnknown, until the closed enum ends (its
  // out-of-range fallback is "UNKNOWN").
  int client_reasons = 0;
  for (int i = static_cast<int>(ErrorReason::kUnknown) + 1; i < 64; ++i) {
    const std::string name(ErrorReasonName(static_cast<ErrorReason>(i)));
    if (name == "UNKNOWN") break;
    ++client_reasons;
    EXPECT_EQ(server_names.count(name), 1u) << name << " is not a server reason";
  }
  EXPECT_EQ(client_reasons, static_cast<int>(server_names.size()));
}

// A reason this client does not know is kUnknown, not a crash or kNone.
TEST(ClientErrorReasonTest, UnknownReasonIsUnknown) {
  EXPECT_EQ(ParseErrorReason("SOMETHING_NEW"), ErrorReason::kUnknown);
  EXPECT_EQ(ParseErrorReason(""), ErrorReason::kUnknown);
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "SOMETHING_NEW")),
            ErrorReason::kUnknown);
}

// The reason is read from the ErrorInfo of domain token.v1 in the details.
TEST(ClientErrorReasonTest, ReadsReasonFromStatusDetails) {
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::UNAUTHENTICATED, "TOKEN_REVOKED")),
            ErrorReason::kTokenRevoked);
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::PERMISSION_DENIED, "MISSING_ROLE")),
            ErrorReason::kMissingRole);
  EXPECT_EQ(ErrorReasonOf(ErrorStatus(grpc::StatusCode::UNAVAILABLE, "DATABASE_UNAVAILABLE")),
            ErrorReason::kDatabaseUnavailable);
}

// No details, unparsable details or another domain: kNone.
TEST(ClientErrorReasonTest, MissingOrForeignDetailsAreNone) {
  EXPECT_EQ(ErrorReasonOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused")),
            ErrorReason::kNone);
  EXPECT_EQ(ErrorReasonOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", "\xff\xff garbage")),
            ErrorReason::kNone);
  EXPECT_EQ(ErrorReasonOf(
                ErrorStatus(grpc::StatusCode::UNAVAILABLE, "TOKEN_REVOKED", "m", "other.domain")),
            ErrorReason::kNone);
  EXPECT_EQ(ErrorReasonOf(grpc::Status::OK), ErrorReason::kNone);
}

TEST(ClientErrorReasonTest, StatusCodeNamesAreCanonical) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace token::client
