#include "client/tokenctl/output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace token::tokenctl {

ExitCode ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitRefused;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitUnavailable;
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::DO_NOT_USE:
      return kExitOther;
  }
  return kExitOther;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

nlohmann::json ToJson(const client::TokenPair& pair) {
  return {
      {"session_id", pair.session_id},
      {"token_type", pair.token_type},
      {"access_token", pair.access_token},
      {"access_expires_at", Rfc3339(pair.access_expires_at)},
      {"refresh_token", pair.refresh_token},
      {"refresh_expires_at", Rfc3339(pair.refresh_expires_at)},
  };
}

nlohmann::json ToJson(const client::AccessClaims& claims) {
  return {
      {"subject", claims.subject},
      {"session_id", claims.session_id},
      {"roles", claims.roles},
      {"audience", claims.audience},
      {"issued_at", Rfc3339(claims.issued_at)},
      {"expires_at", Rfc3339(claims.expires_at)},
      {"token_id", claims.token_id},
  };
}

nlohmann::json ToJson(const client::SessionInfo& s) {
  return {
      {"session_id", s.session_id},
      {"subject", s.subject},
      {"roles", s.roles},
      {"client", {{"user_agent", s.client.user_agent}, {"ip_address", s.client.ip_address}}},
      {"created_at", Rfc3339(s.created_at)},
      {"last_used_at", Rfc3339(s.last_used_at)},
      {"expires_at", Rfc3339(s.expires_at)},
      {"absolute_expires_at", Rfc3339(s.absolute_expires_at)},
      {"revoked_at",
       s.revoked_at.has_value() ? nlohmann::json(Rfc3339(*s.revoked_at)) : nlohmann::json(nullptr)},
      {"revoke_reason", s.revoke_reason},
  };
}

nlohmann::json ToJson(const client::Error& error) {
  return {{"error",
           {{"code", std::string(client::StatusCodeName(error.code))},
            {"reason", error.reason_name},
            {"message", error.message},
            {"attempts", error.attempts}}}};
}

nlohmann::json ErrorJson(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"reason", ""}, {"message", message}}}};
}

std::string ToText(const client::TokenPair& pair) {
  return absl::StrFormat(
      "session_id:         %s\n"
      "token_type:         %s\n"
      "access_token:       %s\n"
      "access_expires_at:  %s\n"
      "refresh_token:      %s\n"
      "refresh_expires_at: %s\n",
      pair.session_id, pair.token_type, pair.access_token, Rfc3339(pair.access_expires_at),
      pair.refresh_token, Rfc3339(pair.refresh_expires_at));
}

std::string ToText(const client::AccessClaims& claims) {
  return absl::StrFormat(
      "valid\n"
      "subject:    %s\n"
      "session_id: %s\n"
      "roles:      %s\n"
      "audience:   %s\n"
      "issued_at:  %s\n"
      "expires_at: %s\n"
      "token_id:   %s\n",
      claims.subject, claims.session_id, absl::StrJoin(claims.roles, ","), claims.audience,
      Rfc3339(claims.issued_at), Rfc3339(claims.expires_at), claims.token_id);
}

std::string SessionsTable(const std::vector<client::SessionInfo>& sessions, absl::Time now) {
  std::string out = absl::StrFormat("%-36s  %-20s  %-20s  %-20s  %-8s  %s\n", "SESSION_ID",
                                    "CREATED", "LAST_USED", "EXPIRES", "STATE", "CLIENT");
  for (const client::SessionInfo& s : sessions) {
    std::string state = "live";
    if (s.revoked_at.has_value()) {
      state = "revoked";
    } else if (now >= s.expires_at || now >= s.absolute_expires_at) {
      state = "expired";
    }
    std::string client = s.client.user_agent;
    if (!s.client.ip_address.empty()) {
      absl::StrAppend(&client, client.empty() ? "" : " ", "(", s.client.ip_address, ")");
    }
    if (s.revoked_at.has_value() && !s.revoke_reason.empty()) {
      absl::StrAppend(&client, client.empty() ? "" : " ", "[", s.revoke_reason, "]");
    }
    absl::StrAppendFormat(&out, "%-36s  %-20s  %-20s  %-20s  %-8s  %s\n", s.session_id,
                          Rfc3339(s.created_at), Rfc3339(s.last_used_at), Rfc3339(s.expires_at),
                          state, client);
  }
  return out;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace token::tokenctl
