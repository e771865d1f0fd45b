// Conversions between core structs and token.v1 messages.
#ifndef TOKEN_SERVER_API_PROTO_CONVERSION_H_
#define TOKEN_SERVER_API_PROTO_CONVERSION_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/jwt/claims.h"
#include "server/session/access_verifier.h"
#include "server/session/session_service.h"
#include "token/v1/token.pb.h"

namespace token {

void ToTimestamp(absl::Time time, google::protobuf::Timestamp& out);
ClientMetadata FromProto(const v1::ClientInfo& client);

// FromTimestamp: INVALID_CLAIMS naming `field` when outside the range a
// google.protobuf.Timestamp allows (years 1–9999, nanos 0–999999999).
absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& time,
                                         absl::string_view field);
// FromDuration: INVALID_REQUEST naming `field` when seconds and nanos are out
// of range or of different signs.
absl::StatusOr<absl::Duration> FromDuration(const google::protobuf::Duration& duration,
                                            absl::string_view field);

// IssueFromProto, ChangesFromProto, VerifyFromProto: requests as the core takes them;
// INVALID_CLAIMS / INVALID_REQUEST for fields that cannot be converted.
absl::StatusOr<IssueRequest> IssueFromProto(const v1::IssueTokensRequest& request);
absl::StatusOr<SessionChanges> ChangesFromProto(const v1::UpdateSessionRequest& request);
absl::StatusOr<VerifyAccessRequest> VerifyFromProto(const v1::VerifyAccessRequest& request);
void ToProto(const IssuedTokens& tokens, v1::TokenPair& out);
void ToProto(const AccessClaims& claims, v1::VerifyAccessResponse& out);
void ToProto(const SessionView& session, v1::Session& out);

}  // namespace token

#endif  // TOKEN_SERVER_API_PROTO_CONVERSION_H_
