#include "client/cpp/token_client.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "nlohmann/json.hpp"

namespace token::client {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::optional<absl::Time> OptionalFromProto(bool has, const google::protobuf::Timestamp& t) {
  if (!has) return std::nullopt;
  return FromProto(t);
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds down: nanos stay >= 0
  out->set_seconds(seconds);
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  // Truncation toward zero keeps seconds and nanos of the same sign, as the
  // Duration message requires.
  const int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

// Numbers on the wire are doubles; integers up to 2^53 survive exactly.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

Error InvalidClaims(absl::string_view message) {
  return Error{grpc::StatusCode::INVALID_ARGUMENT, ErrorReason::INVALID_CLAIMS,
               std::string(ErrorReasonName(ErrorReason::INVALID_CLAIMS)), std::string(message), 0};
}

// JsonToValue converts one JSON value; `path` names it in errors (never its
// value: claims may hold personal data).
std::optional<Error> JsonToValue(const nlohmann::json& json, const std::string& path,
                                 google::protobuf::Value* out) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return std::nullopt;
    case nlohmann::json::value_t::boolean:
      out->set_bool_value(json.get<bool>());
      return std::nullopt;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: {
      // Compared as integers: as a double, 2^53 + 1 would already be 2^53.
      constexpr uint64_t kMax = uint64_t{1} << 53;
      const bool exact = json.is_number_unsigned()
                             ? json.get<uint64_t>() <= kMax
                             : json.get<int64_t>() >= -static_cast<int64_t>(kMax) &&
                                   json.get<int64_t>() <= static_cast<int64_t>(kMax);
      if (!exact) {
        return InvalidClaims(absl::StrCat(
            path, ": integer beyond 2^53 cannot be sent exactly; send it as a string"));
      }
      out->set_number_value(json.get<double>());
      return std::nullopt;
    }
    case nlohmann::json::value_t::number_float:
      out->set_number_value(json.get<double>());
      return std::nullopt;
    case nlohmann::json::value_t::string:
      out->set_string_value(json.get<std::string>());
      return std::nullopt;
    case nlohmann::json::value_t::array: {
      google::protobuf::ListValue* list = out->mutable_list_value();
      for (size_t i = 0; i < json.size(); ++i) {
        if (std::optional<Error> bad =
                JsonToValue(json[i], absl::StrCat(path, "[", i, "]"), list->add_values())) {
          return bad;
        }
      }
      return std::nullopt;
    }
    case nlohmann::json::value_t::object: {
      google::protobuf::Struct* object = out->mutable_struct_value();
      for (const auto& [key, member] : json.items()) {
        if (std::optional<Error> bad = JsonToValue(member, absl::StrCat(path, ".", key),
                                                   &(*object->mutable_fields())[key])) {
          return bad;
        }
      }
      return std::nullopt;
    }
    case nlohmann::json::value_t::binary:
    case nlohmann::json::value_t::discarded:
      break;
  }
  return InvalidClaims(absl::StrCat(path, ": not a JSON value"));
}

// ClaimsToProto parses `json`, which must be the text of a JSON object, into
// the Struct; errors name `field` (and the member) but never quote the input.
std::optional<Error> ClaimsToProto(const std::string& field, const std::string& json,
                                   google::protobuf::Struct* out) {
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidClaims(absl::StrCat(field, ": not valid JSON"));
  if (!parsed.is_object()) return InvalidClaims(absl::StrCat(field, ": not a JSON object"));
  google::protobuf::Value value;
  if (std::optional<Error> bad = JsonToValue(parsed, field, &value)) return bad;
  *out = std::move(*value.mutable_struct_value());
  return std::nullopt;
}

nlohmann::json ValueToJson(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kBoolValue:
      return value.bool_value();
    case google::protobuf::Value::kNumberValue: {
      // Integral numbers read back as integers ("n": 5, not 5.0), as the
      // service writes them into the token.
      const double number = value.number_value();
      if (std::isfinite(number) && std::trunc(number) == number &&
          std::abs(number) <= kMaxExactInteger) {
        return static_cast<int64_t>(number);
      }
      return number;
    }
    case google::protobuf::Value::kStringValue:
      return value.string_value();
    case google::protobuf::Value::kListValue: {
      nlohmann::json list = nlohmann::json::array();
      for (const google::protobuf::Value& v : value.list_value().values()) {
        list.push_back(ValueToJson(v));
      }
      return list;
    }
    case google::protobuf::Value::kStructValue: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& [key, v] : value.struct_value().fields()) object[key] = ValueToJson(v);
      return object;
    }
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      break;
  }
  return nullptr;
}

// ClaimsFromProto renders the Struct as compact JSON object text with sorted
// keys (the same text for the same claims).
std::string ClaimsFromProto(const google::protobuf::Struct& claims) {
  google::protobuf::Value value;
  *value.mutable_struct_value() = claims;
  return ValueToJson(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TokenPair FromProto(const v1::TokenPair& p) {
  return TokenPair{
      .access_token = p.access_token(),
      .access_expires_at = FromProto(p.access_expires_at()),
      .refresh_token = p.refresh_token(),
      .refresh_expires_at = FromProto(p.refresh_expires_at()),
      .session_id = p.session_id(),
      .token_type = p.token_type(),
  };
}

void ToProto(const ClientInfo& client, v1::ClientInfo* out) {
  out->set_user_agent(client.user_agent);
  out->set_ip_address(client.ip_address);
}

SessionInfo FromProto(const v1::Session& s) {
  SessionInfo out{
      .session_id = s.session_id(),
      .subject = s.subject(),
      .roles = {s.roles().begin(), s.roles().end()},
      .client = {s.client().user_agent(), s.client().ip_address()},
      .created_at = FromProto(s.created_at()),
      .last_used_at = FromProto(s.last_used_at()),
      .expires_at = FromProto(s.expires_at()),
      .absolute_expires_at = FromProto(s.absolute_expires_at()),
      .revoked_at = std::nullopt,
      .revoke_reason = s.revoke_reason(),
      .claims_json = ClaimsFromProto(s.claims()),
      .scopes = {s.scopes().begin(), s.scopes().end()},
      .auth_time = OptionalFromProto(s.has_auth_time(), s.auth_time()),
      .amr = {s.amr().begin(), s.amr().end()},
      .acr = s.acr(),
      .metadata = {s.metadata().begin(), s.metadata().end()},
  };
  if (s.has_revoked_at()) out.revoked_at = FromProto(s.revoked_at());
  return out;
}

// A uniform draw in [0, 1] for backoff jitter; one generator per thread.
double UnitRandom() {
  thread_local absl::InsecureBitGen gen;
  return absl::Uniform<double>(absl::IntervalClosed, gen, 0.0, 1.0);
}

Error DeadlinePassed(absl::string_view what) {
  return Error{grpc::StatusCode::DEADLINE_EXCEEDED, ErrorReason::ERROR_REASON_UNSPECIFIED, "",
               std::string(what), 0};
}

}  // namespace

TokenClientPtr TokenClient::Connect(const std::string& target, TokenClientOptions options,
                                    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return std::make_unique<TokenClient>(
      MakeGrpcTransport(grpc::CreateChannel(target, std::move(credentials))), options);
}

TokenClient::TokenClient(TokenTransportPtr transport, TokenClientOptions options)
    : transport_(std::move(transport)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      holds_(options.transit_margin) {}

absl::Time TokenClient::DeadlineOr(std::optional<absl::Time> deadline) const {
  return deadline.has_value() ? *deadline : clock_.Now() + options_.timeout;
}

template <typename Attempt>
grpc::Status TokenClient::WithRetries(absl::Time deadline, Attempt attempt, int* attempts) {
  *attempts = 0;
  const RetryPolicy& policy = options_.retry;
  for (int n = 1;; ++n) {
    if (clock_.Now() >= deadline) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "deadline passed before the call could be made");
    }
    *attempts = n;
    grpc::Status status = attempt(deadline);
    if (status.ok() || !IsRetryable(status.error_code()) || n >= policy.max_attempts) {
      return status;
    }
    const absl::Duration pause = policy.Backoff(n, UnitRandom());
    // The pause must leave time for another attempt; otherwise report the
    // failure now rather than a DEADLINE_EXCEEDED later.
    if (clock_.Now() + pause >= deadline) return status;
    clock_.SleepFor(pause);
  }
}

template <typename Request, typename Response>
Result<Response> TokenClient::Call(grpc::Status (TokenTransport::*rpc)(absl::Time, const Request&,
                                                                       Response*),
                                   const Request& request, absl::Time deadline) {
  Response response;
  int attempts = 0;
  grpc::Status status = WithRetries(
      deadline,
      [&](absl::Time d) {
        response.Clear();
        return ((*transport_).*rpc)(d, request, &response);
      },
      &attempts);
  if (!status.ok()) return Error::FromStatus(status, attempts);
  return response;
}

Result<TokenPair> TokenClient::Issue(const IssueRequest& request,
                                     std::optional<absl::Time> deadline) {
  v1::IssueTokensRequest proto;
  proto.set_subject(request.subject);
  for (const std::string& role : request.roles) proto.add_roles(role);
  proto.set_audience(request.audience);
  if (request.client.has_value()) ToProto(*request.client, proto.mutable_client());
  if (!request.claims_json.empty()) {
    if (std::optional<Error> bad =
            ClaimsToProto("claims_json", request.claims_json, proto.mutable_claims())) {
      return *std::move(bad);
    }
  }
  for (const std::string& scope : request.scopes) proto.add_scopes(scope);
  if (request.auth_time.has_value()) ToProto(*request.auth_time, proto.mutable_auth_time());
  for (const std::string& method : request.amr) proto.add_amr(method);
  proto.set_acr(request.acr);
  proto.mutable_metadata()->insert(request.metadata.begin(), request.metadata.end());
  Result<v1::IssueTokensResponse> response =
      Call(&TokenTransport::IssueTokens, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return FromProto(response->tokens());
}

Result<TokenPair> TokenClient::Refresh(const RefreshRequest& request,
                                       std::optional<absl::Time> deadline) {
  const absl::Time until = DeadlineOr(deadline);
  // Waiting is measured on the client's clock, like the deadline itself.
  std::optional<Result<TokenPair>> shared = refreshes_.Do(
      request.refresh_token, until - clock_.Now(), [&] { return RefreshOnce(request, until); });
  if (!shared.has_value()) {
    return DeadlinePassed("deadline passed while waiting for a refresh of the same token");
  }
  return *std::move(shared);
}

Result<TokenPair> TokenClient::RefreshOnce(const RefreshRequest& request, absl::Time deadline) {
  v1::RefreshTokensRequest proto;
  proto.set_refresh_token(request.refresh_token);
  if (request.client.has_value()) ToProto(*request.client, proto.mutable_client());
  // A held successor waits until no copy of its parent's unanswered call can
  // reach the service any more (see RefreshHolds).
  const absl::Time held_until = holds_.HeldUntil(request.refresh_token, clock_.Now());
  if (held_until > clock_.Now()) {
    clock_.SleepFor(std::min(held_until, deadline) - clock_.Now());
    if (clock_.Now() < held_until) {
      return DeadlinePassed(
          "deadline passed while the token was held after an unanswered refresh of its parent");
    }
  }
  v1::RefreshTokensResponse response;
  int attempts = 0;
  // Retrying RefreshTokens is safe even when the first attempt did rotate the
  // token and only its response was lost: the service's grace window
  // (--reuse-grace, default 10 s) answers a replay of the immediately previous
  // token with the *same* successor instead of treating it as reuse. Backoff
  // pauses are far shorter than that window. (With the window disabled on the
  // server, such a retry is reuse and revokes the family: run with the window.)
  grpc::Status status = WithRetries(
      deadline,
      [&](absl::Time d) {
        response.Clear();
        grpc::Status attempt = transport_->RefreshTokens(d, proto, &response);
        if (!attempt.ok() && ErrorInfoReason(attempt).empty()) {
          holds_.RecordUnanswered(request.refresh_token, d, clock_.Now());
        }
        return attempt;
      },
      &attempts);
  if (!status.ok()) return Error::FromStatus(status, attempts);
  holds_.RecordAnswered(request.refresh_token, response.tokens().refresh_token(), clock_.Now());
  return FromProto(response.tokens());
}

Result<AccessClaims> TokenClient::Verify(const VerifyRequest& request,
                                         std::optional<absl::Time> deadline) {
  v1::VerifyAccessRequest proto;
  proto.set_access_token(request.access_token);
  proto.set_audience(request.audience);
  for (const std::string& role : request.required_roles) proto.add_required_roles(role);
  for (const std::string& scope : request.required_scopes) proto.add_required_scopes(scope);
  if (request.max_auth_age.has_value()) {
    ToProto(*request.max_auth_age, proto.mutable_max_auth_age());
  }
  for (const std::string& acr : request.acceptable_acr) proto.add_acceptable_acr(acr);
  Result<v1::VerifyAccessResponse> response =
      Call(&TokenTransport::VerifyAccess, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return AccessClaims{
      .subject = response->subject(),
      .session_id = response->session_id(),
      .roles = {response->roles().begin(), response->roles().end()},
      .audience = response->audience(),
      .issued_at = FromProto(response->issued_at()),
      .expires_at = FromProto(response->expires_at()),
      .token_id = response->token_id(),
      .claims_json = ClaimsFromProto(response->claims()),
      .scopes = {response->scopes().begin(), response->scopes().end()},
      .auth_time = OptionalFromProto(response->has_auth_time(), response->auth_time()),
      .amr = {response->amr().begin(), response->amr().end()},
      .acr = response->acr(),
  };
}

Result<int64_t> TokenClient::RevokeAll(const std::string& subject, const std::string& reason,
                                       std::optional<absl::Time> deadline) {
  return RevokeAll(RevokeAllRequest{.subject = subject, .reason = reason}, deadline);
}

Result<int64_t> TokenClient::RevokeAll(const RevokeAllRequest& request,
                                       std::optional<absl::Time> deadline) {
  v1::RevokeAllRequest proto;
  proto.set_subject(request.subject);
  proto.set_reason(request.reason);
  proto.set_except_session_id(request.except_session_id);
  // Idempotent: a retry after a lost response revokes nothing more (and then
  // reports 0 sessions, the ones still live).
  Result<v1::RevokeAllResponse> response =
      Call(&TokenTransport::RevokeAll, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return static_cast<int64_t>(response->revoked_sessions());
}

Result<bool> TokenClient::RevokeSession(const std::string& session_id, const std::string& reason,
                                        std::optional<absl::Time> deadline) {
  v1::RevokeSessionRequest proto;
  proto.set_session_id(session_id);
  proto.set_reason(reason);
  Result<v1::RevokeSessionResponse> response =
      Call(&TokenTransport::RevokeSession, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return response->revoked();
}

Result<SessionPage> TokenClient::ListSessions(const std::string& subject, int page_size,
                                              const std::string& page_token,
                                              std::optional<absl::Time> deadline) {
  v1::ListSessionsRequest proto;
  proto.set_subject(subject);
  proto.set_page_size(page_size);
  proto.set_page_token(page_token);
  Result<v1::ListSessionsResponse> response =
      Call(&TokenTransport::ListSessions, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  SessionPage page;
  page.next_page_token = response->next_page_token();
  for (const v1::Session& s : response->sessions()) page.sessions.push_back(FromProto(s));
  return page;
}

Result<SessionInfo> TokenClient::UpdateSession(const UpdateSessionRequest& request,
                                               std::optional<absl::Time> deadline) {
  v1::UpdateSessionRequest proto;
  proto.set_session_id(request.session_id);
  google::protobuf::FieldMask& mask = *proto.mutable_update_mask();
  if (request.roles.has_value()) {
    mask.add_paths("roles");
    for (const std::string& role : *request.roles) proto.add_roles(role);
  }
  if (request.claims_json.has_value()) {
    mask.add_paths("claims");
    // "" clears: the field is named in the mask and left unset.
    if (!request.claims_json->empty()) {
      if (std::optional<Error> bad =
              ClaimsToProto("claims_json", *request.claims_json, proto.mutable_claims())) {
        return *std::move(bad);
      }
    }
  }
  if (request.scopes.has_value()) {
    mask.add_paths("scopes");
    for (const std::string& scope : *request.scopes) proto.add_scopes(scope);
  }
  if (request.auth_time.has_value()) {
    mask.add_paths("auth_time");
    if (request.auth_time->has_value()) ToProto(**request.auth_time, proto.mutable_auth_time());
  }
  if (request.amr.has_value()) {
    mask.add_paths("amr");
    for (const std::string& method : *request.amr) proto.add_amr(method);
  }
  if (request.acr.has_value()) {
    mask.add_paths("acr");
    proto.set_acr(*request.acr);
  }
  if (request.metadata.has_value()) {
    mask.add_paths("metadata");
    proto.mutable_metadata()->insert(request.metadata->begin(), request.metadata->end());
  }
  if (mask.paths().empty()) {
    return Error{grpc::StatusCode::INVALID_ARGUMENT, ErrorReason::INVALID_REQUEST,
                 std::string(ErrorReasonName(ErrorReason::INVALID_REQUEST)),
                 "UpdateSession: no field to update", 0};
  }
  Result<v1::UpdateSessionResponse> response =
      Call(&TokenTransport::UpdateSession, proto, DeadlineOr(deadline));
  if (!response.ok()) return response.error();
  return FromProto(response->session());
}

}  // namespace token::client
