// Conversions between core structs and token.v1 messages.
#ifndef TOKEN_SERVER_API_PROTO_CONVERSION_H_
#define TOKEN_SERVER_API_PROTO_CONVERSION_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/jwt/claims.h"
#include "server/session/session_service.h"
#include "token/v1/token.pb.h"

namespace token {

void ToTimestamp(absl::Time time, google::protobuf::Timestamp& out);
ClientMetadata FromProto(const v1::ClientInfo& client);
void ToProto(const IssuedTokens& tokens, v1::TokenPair& out);
void ToProto(const AccessClaims& claims, v1::VerifyAccessResponse& out);
void ToProto(const SessionView& session, v1::Session& out);

}  // namespace token

#endif  // TOKEN_SERVER_API_PROTO_CONVERSION_H_
