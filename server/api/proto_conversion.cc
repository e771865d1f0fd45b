#include "server/api/proto_conversion.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/api/struct_json.h"
#include "server/common/error_reason.h"

namespace token {
namespace {

// Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// Duration's valid range: ±10000 years.
constexpr int64_t kMaxDurationSeconds = 315576000000;

template <typename Repeated>
std::vector<std::string> ToVector(const Repeated& values) {
  return {values.begin(), values.end()};
}

// ContextToProto fills the context fields VerifyAccessResponse and Session share.
template <typename Message>
void ContextToProto(const TokenContext& context, Message& out) {
  // Validated on the way in (or read from a token we verified) as a JSON object.
  JsonToStruct(nlohmann::json::parse(context.claims, nullptr, /*allow_exceptions=*/false),
               *out.mutable_claims());
  for (const std::string& scope : context.scopes) out.add_scopes(scope);
  if (context.auth_time.has_value()) ToTimestamp(*context.auth_time, *out.mutable_auth_time());
  for (const std::string& amr : context.amr) out.add_amr(amr);
  out.set_acr(context.acr);
}

}  // namespace

absl::StatusOr<absl::Time> FromTimestamp(const google::protobuf::Timestamp& time,
                                         absl::string_view field) {
  if (time.seconds() < kMinTimestampSeconds || time.seconds() > kMaxTimestampSeconds ||
      time.nanos() < 0 || time.nanos() > 999999999) {
    return MakeError(ErrorReason::INVALID_CLAIMS,
                     absl::StrCat(field, ": not a valid google.protobuf.Timestamp"));
  }
  return absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
}

absl::StatusOr<absl::Duration> FromDuration(const google::protobuf::Duration& duration,
                                            absl::string_view field) {
  const int64_t seconds = duration.seconds();
  const int32_t nanos = duration.nanos();
  if (seconds < -kMaxDurationSeconds || seconds > kMaxDurationSeconds || nanos <= -1000000000 ||
      nanos >= 1000000000 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    return MakeError(ErrorReason::INVALID_REQUEST,
                     absl::StrCat(field, ": not a valid google.protobuf.Duration"));
  }
  return absl::Seconds(seconds) + absl::Nanoseconds(nanos);
}

absl::StatusOr<IssueRequest> IssueFromProto(const v1::IssueTokensRequest& request) {
  IssueRequest out{.subject = request.subject(),
                   .roles = ToVector(request.roles()),
                   .audience = request.audience(),
                   .client = FromProto(request.client())};
  if (request.has_claims()) {
    absl::StatusOr<nlohmann::json> claims = StructToJson(request.claims(), "claims");
    if (!claims.ok()) return claims.status();
    out.context.claims = *std::move(claims);
  }
  out.context.scopes = ToVector(request.scopes());
  if (request.has_auth_time()) {
    absl::StatusOr<absl::Time> auth_time = FromTimestamp(request.auth_time(), "auth_time");
    if (!auth_time.ok()) return auth_time.status();
    out.context.auth_time = *auth_time;
  }
  out.context.amr = ToVector(request.amr());
  out.context.acr = request.acr();
  out.metadata = {request.metadata().begin(), request.metadata().end()};
  return out;
}

absl::StatusOr<SessionChanges> ChangesFromProto(const v1::UpdateSessionRequest& request) {
  SessionChanges out;
  for (const std::string& path : request.update_mask().paths()) {
    if (path == "roles") {
      out.roles = ToVector(request.roles());
    } else if (path == "claims") {
      absl::StatusOr<nlohmann::json> claims = StructToJson(request.claims(), "claims");
      if (!claims.ok()) return claims.status();
      out.claims = *std::move(claims);
    } else if (path == "scopes") {
      out.scopes = ToVector(request.scopes());
    } else if (path == "auth_time") {
      out.auth_time.emplace();
      if (request.has_auth_time()) {
        absl::StatusOr<absl::Time> auth_time = FromTimestamp(request.auth_time(), "auth_time");
        if (!auth_time.ok()) return auth_time.status();
        *out.auth_time = *auth_time;
      }
    } else if (path == "amr") {
      out.amr = ToVector(request.amr());
    } else if (path == "acr") {
      out.acr = request.acr();
    } else if (path == "metadata") {
      out.metadata = SessionMetadata(request.metadata().begin(), request.metadata().end());
    } else {
      // The path is caller text: not echoed.
      return MakeError(ErrorReason::INVALID_REQUEST,
                       "update_mask has an unknown path; allowed: roles, claims, scopes, "
                       "auth_time, amr, acr, metadata");
    }
  }
  return out;
}

absl::StatusOr<VerifyAccessRequest> VerifyFromProto(const v1::VerifyAccessRequest& request) {
  VerifyAccessRequest out{.access_token = request.access_token(),
                          .audience = request.audience(),
                          .required_roles = ToVector(request.required_roles()),
                          .required_scopes = ToVector(request.required_scopes()),
                          .acceptable_acr = ToVector(request.acceptable_acr())};
  if (request.has_max_auth_age()) {
    absl::StatusOr<absl::Duration> age = FromDuration(request.max_auth_age(), "max_auth_age");
    if (!age.ok()) return age.status();
    out.max_auth_age = *age;
  }
  return out;
}

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
  ContextToProto(claims.context, out);
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
  ContextToProto(session.context, out);
  out.mutable_metadata()->insert(session.metadata.begin(), session.metadata.end());
}

}  // namespace token
