#include "server/api/proto_conversion.h"

namespace token {

void ToTimestamp(absl::Time time, google::protobuf::Timestamp& out) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  out.set_seconds(seconds);
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

ClientMetadata FromProto(const v1::ClientInfo& client) {
  return ClientMetadata{client.user_agent(), client.ip_address()};
}

void ToProto(const IssuedTokens& tokens, v1::TokenPair& out) {
  out.set_access_token(tokens.access_token);
  ToTimestamp(tokens.access_expires_at, *out.mutable_access_expires_at());
  out.set_refresh_token(tokens.refresh_token);
  ToTimestamp(tokens.refresh_expires_at, *out.mutable_refresh_expires_at());
  out.set_session_id(tokens.session_id);
  out.set_token_type("Bearer");
}

void ToProto(const AccessClaims& claims, v1::VerifyAccessResponse& out) {
  out.set_subject(claims.subject);
  out.set_session_id(claims.session_id);
  for (const std::string& role : claims.roles) out.add_roles(role);
  out.set_audience(claims.audience);
  ToTimestamp(claims.issued_at, *out.mutable_issued_at());
  ToTimestamp(claims.expires_at, *out.mutable_expires_at());
  out.set_token_id(claims.token_id);
}

void ToProto(const SessionView& session, v1::Session& out) {
  out.set_session_id(session.session_id);
  out.set_subject(session.subject);
  ToTimestamp(session.created_at, *out.mutable_created_at());
  ToTimestamp(session.last_used_at, *out.mutable_last_used_at());
  ToTimestamp(session.expires_at, *out.mutable_expires_at());
  ToTimestamp(session.absolute_expires_at, *out.mutable_absolute_expires_at());
  out.mutable_client()->set_user_agent(session.client.user_agent);
  out.mutable_client()->set_ip_address(session.client.ip_address);
  if (session.revoked_at.has_value()) ToTimestamp(*session.revoked_at, *out.mutable_revoked_at());
  out.set_revoke_reason(session.revoke_reason);
  for (const std::string& role : session.roles) out.add_roles(role);
}

}  // namespace token
