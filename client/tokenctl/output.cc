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

namespace {

// The claims object of a result (the library hands JSON object text).
nlohmann::json ClaimsObject(const std::string& claims_json) {
  nlohmann::json claims = nlohmann::json::parse(claims_json, nullptr, /*allow_exceptions=*/false);
  return claims.is_object() ? claims : nlohmann::json::object();
}

nlohmann::json OptionalTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? nlohmann::json(Rfc3339(*t)) : nlohmann::json(nullptr);
}

std::string OptionalTimeText(const std::optional<absl::Time>& t) {
  return t.has_value() ? Rfc3339(*t) : "-";
}

}  // namespace

nlohmann::json ToJson(const client::AccessClaims& claims) {
  return {
      {"claims", ClaimsObject(claims.claims_json)},
      {"scopes", claims.scopes},
      {"auth_time", OptionalTime(claims.auth_time)},
      {"amr", claims.amr},
      {"acr", claims.acr},
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
      {"revoked_at", OptionalTime(s.revoked_at)},
      {"revoke_reason", s.revoke_reason},
      {"claims", ClaimsObject(s.claims_json)},
      {"scopes", s.scopes},
      {"auth_time", OptionalTime(s.auth_time)},
      {"amr", s.amr},
      {"acr", s.acr},
      {"metadata", s.metadata},
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
      "token_id:   %s\n"
      "scopes:     %s\n"
      "auth_time:  %s\n"
      "amr:        %s\n"
      "acr:        %s\n"
      "claims:     %s\n",
      claims.subject, claims.session_id, absl::StrJoin(claims.roles, ","), claims.audience,
      Rfc3339(claims.issued_at), Rfc3339(claims.expires_at), claims.token_id,
      absl::StrJoin(claims.scopes, " "), OptionalTimeText(claims.auth_time),
      absl::StrJoin(claims.amr, ","), claims.acr, DumpJson(ClaimsObject(claims.claims_json)));
}

std::string ToText(const client::SessionInfo& s) {
  std::string metadata;
  for (const auto& [key, value] : s.metadata) {
    absl::StrAppend(&metadata, metadata.empty() ? "" : " ", key, "=", value);
  }
  return absl::StrFormat(
      "session_id:  %s\n"
      "subject:     %s\n"
      "roles:       %s\n"
      "scopes:      %s\n"
      "auth_time:   %s\n"
      "amr:         %s\n"
      "acr:         %s\n"
      "claims:      %s\n"
      "metadata:    %s\n"
      "expires_at:  %s\n",
      s.session_id, s.subject, absl::StrJoin(s.roles, ","), absl::StrJoin(s.scopes, " "),
      OptionalTimeText(s.auth_time), absl::StrJoin(s.amr, ","), s.acr,
      DumpJson(ClaimsObject(s.claims_json)), metadata, Rfc3339(s.expires_at));
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
