#include "client/tokenctl/cli.h"

#include <cstdlib>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/tokenctl/output.h"
#include "httplib.h"

namespace token::tokenctl {
namespace {

enum class Kind { kBool, kValue, kRepeated };

// Every flag tokenctl knows, with its kind (the same in every command).
const std::map<std::string, Kind>& AllFlags() {
  static const auto* const flags = new std::map<std::string, Kind>{
      {"server", Kind::kValue},
      {"timeout", Kind::kValue},
      {"json", Kind::kBool},
      {"help", Kind::kBool},
      {"role", Kind::kRepeated},
      {"audience", Kind::kValue},
      {"user-agent", Kind::kValue},
      {"ip", Kind::kValue},
      {"require-role", Kind::kRepeated},
      {"reason", Kind::kValue},
      {"page-size", Kind::kValue},
      {"page-token", Kind::kValue},
      {"all", Kind::kBool},
      {"jwks-url", Kind::kValue},
      {"bits", Kind::kValue},
      {"claim", Kind::kRepeated},
      {"claims-json", Kind::kValue},
      {"scope", Kind::kRepeated},
      {"amr", Kind::kRepeated},
      // acr: one value in issue and update-session, the acceptable list in verify.
      {"acr", Kind::kRepeated},
      {"auth-time", Kind::kValue},
      {"metadata", Kind::kRepeated},
      {"require-scope", Kind::kRepeated},
      {"max-auth-age", Kind::kValue},
      {"clear", Kind::kRepeated},
      {"except", Kind::kValue},
  };
  return *flags;
}

bool IsGlobal(const std::string& name) {
  return name == "server" || name == "timeout" || name == "json" || name == "help";
}

struct CommandSpec {
  int min_args;
  int max_args;
  std::set<std::string> flags;
};

const std::map<std::string, CommandSpec>& Commands() {
  static const auto* const commands = new std::map<std::string, CommandSpec>{
      {"issue",
       {1,
        1,
        {"role", "audience", "user-agent", "ip", "claim", "claims-json", "scope", "amr", "acr",
         "auth-time", "metadata"}}},
      {"refresh", {0, 1, {"user-agent", "ip"}}},
      {"verify", {0, 1, {"audience", "require-role", "require-scope", "max-auth-age", "acr"}}},
      {"update-session",
       {1,
        1,
        {"role", "claim", "claims-json", "scope", "amr", "acr", "auth-time", "metadata", "clear"}}},
      {"revoke-all", {1, 1, {"reason", "except"}}},
      {"revoke-session", {1, 1, {"reason"}}},
      {"sessions", {1, 1, {"page-size", "page-token", "all"}}},
      {"jwks", {0, 0, {"jwks-url"}}},
  };
  return *commands;
}

absl::Status Usage(const std::string& message) { return absl::InvalidArgumentError(message); }

std::vector<std::string> Values(const Invocation& inv, const std::string& name) {
  auto it = inv.flags.find(name);
  return it == inv.flags.end() ? std::vector<std::string>{} : it->second;
}

// ClaimsFromFlags: the --claims-json object with every --claim k=v set on
// it (v is JSON when it parses as JSON, else a string), as JSON text; ""
// when neither flag is given. Messages name the flag, never the value.
absl::StatusOr<std::string> ClaimsFromFlags(const Invocation& inv) {
  if (!inv.Has("claims-json") && !inv.Has("claim")) return std::string();
  nlohmann::json claims = nlohmann::json::object();
  if (inv.Has("claims-json")) {
    claims = nlohmann::json::parse(inv.Flag("claims-json"), nullptr, /*allow_exceptions=*/false);
    if (!claims.is_object()) return Usage("--claims-json must be a JSON object");
  }
  for (const std::string& claim : Values(inv, "claim")) {
    const size_t eq = claim.find('=');
    if (eq == std::string::npos || eq == 0) return Usage("--claim takes NAME=VALUE");
    const std::string value = claim.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    claims[claim.substr(0, eq)] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  return claims.dump();
}

// MetadataFromFlags: every --metadata k=v (a later k wins).
absl::StatusOr<client::SessionMetadata> MetadataFromFlags(const Invocation& inv) {
  client::SessionMetadata metadata;
  for (const std::string& entry : Values(inv, "metadata")) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) return Usage("--metadata takes KEY=VALUE");
    metadata[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return metadata;
}

// AuthTimeFromFlag: "now", an RFC 3339 time, or (when `allow_none`) "none"
// for no auth_time.
absl::StatusOr<std::optional<absl::Time>> AuthTimeFromFlag(const std::string& value, absl::Time now,
                                                           bool allow_none) {
  if (value == "now") return now;
  if (allow_none && value == "none") return std::nullopt;
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &error)) {
    return Usage(absl::StrCat("--auth-time must be now", allow_none ? ", none" : "",
                              " or an RFC 3339 time"));
  }
  return t;
}

// The fields update-session can set, by their --clear name.
const std::set<std::string>& UpdatableFields() {
  static const auto* const fields =
      new std::set<std::string>{"roles", "claims", "scopes", "auth_time", "amr", "acr", "metadata"};
  return *fields;
}

// UpdateFromFlags builds the UpdateSessionRequest: every field whose flag is
// given is engaged (so named in update_mask); --clear FIELD engages it empty.
absl::StatusOr<client::UpdateSessionRequest> UpdateFromFlags(const Invocation& inv,
                                                             absl::Time now) {
  client::UpdateSessionRequest request{.session_id = inv.args.empty() ? "" : inv.args[0]};
  std::set<std::string> cleared;
  for (const std::string& field : Values(inv, "clear")) {
    if (UpdatableFields().count(field) == 0) {
      return Usage(
          absl::StrCat("--clear takes one of roles, claims, scopes, auth_time, amr, "
                       "acr, metadata; got ",
                       field));
    }
    cleared.insert(field);
  }
  auto set_or_clear = [&](const std::string& field, bool given) -> absl::Status {
    if (given && cleared.count(field) > 0) {
      return Usage(absl::StrCat("--clear ", field, " contradicts a flag that sets it"));
    }
    return absl::OkStatus();
  };
  const bool claims_given = inv.Has("claims-json") || inv.Has("claim");
  for (const auto& [field, given] :
       std::vector<std::pair<std::string, bool>>{{"roles", inv.Has("role")},
                                                 {"claims", claims_given},
                                                 {"scopes", inv.Has("scope")},
                                                 {"auth_time", inv.Has("auth-time")},
                                                 {"amr", inv.Has("amr")},
                                                 {"acr", inv.Has("acr")},
                                                 {"metadata", inv.Has("metadata")}}) {
    if (absl::Status s = set_or_clear(field, given); !s.ok()) return s;
  }
  if (inv.Has("role") || cleared.count("roles")) request.roles = Values(inv, "role");
  if (claims_given || cleared.count("claims")) {
    absl::StatusOr<std::string> claims = ClaimsFromFlags(inv);
    if (!claims.ok()) return claims.status();
    request.claims_json = *claims;
  }
  if (inv.Has("scope") || cleared.count("scopes")) request.scopes = Values(inv, "scope");
  if (inv.Has("auth-time")) {
    absl::StatusOr<std::optional<absl::Time>> t =
        AuthTimeFromFlag(inv.Flag("auth-time"), now, /*allow_none=*/true);
    if (!t.ok()) return t.status();
    request.auth_time = *t;
  } else if (cleared.count("auth_time")) {
    request.auth_time = std::optional<absl::Time>();
  }
  if (inv.Has("amr") || cleared.count("amr")) request.amr = Values(inv, "amr");
  if (inv.Has("acr") || cleared.count("acr")) request.acr = inv.Flag("acr");
  if (inv.Has("metadata") || cleared.count("metadata")) {
    absl::StatusOr<client::SessionMetadata> metadata = MetadataFromFlags(inv);
    if (!metadata.ok()) return metadata.status();
    request.metadata = *metadata;
  }
  if (!request.roles && !request.claims_json && !request.scopes && !request.auth_time &&
      !request.amr && !request.acr && !request.metadata) {
    return Usage("update-session needs at least one field to set or --clear");
  }
  return request;
}

// IssueFromFlags builds the IssueRequest of `issue SUBJECT ...`.
absl::StatusOr<client::IssueRequest> IssueFromFlags(const Invocation& inv, absl::Time now) {
  client::IssueRequest request{.subject = inv.args.empty() ? "" : inv.args[0],
                               .roles = Values(inv, "role"),
                               .audience = inv.Flag("audience"),
                               .scopes = Values(inv, "scope"),
                               .amr = Values(inv, "amr"),
                               .acr = inv.Flag("acr")};
  if (inv.Has("user-agent") || inv.Has("ip")) {
    request.client = client::ClientInfo{inv.Flag("user-agent"), inv.Flag("ip")};
  }
  absl::StatusOr<std::string> claims = ClaimsFromFlags(inv);
  if (!claims.ok()) return claims.status();
  request.claims_json = *claims;
  if (inv.Has("auth-time")) {
    absl::StatusOr<std::optional<absl::Time>> t =
        AuthTimeFromFlag(inv.Flag("auth-time"), now, /*allow_none=*/false);
    if (!t.ok()) return t.status();
    request.auth_time = *t;
  }
  absl::StatusOr<client::SessionMetadata> metadata = MetadataFromFlags(inv);
  if (!metadata.ok()) return metadata.status();
  request.metadata = *metadata;
  return request;
}

// VerifyFromFlags builds the VerifyRequest of `verify` for `token`.
absl::StatusOr<client::VerifyRequest> VerifyFromFlags(const Invocation& inv,
                                                      const std::string& token) {
  client::VerifyRequest request{.access_token = token,
                                .audience = inv.Flag("audience"),
                                .required_roles = Values(inv, "require-role"),
                                .required_scopes = Values(inv, "require-scope"),
                                .acceptable_acr = Values(inv, "acr")};
  if (inv.Has("max-auth-age")) {
    absl::Duration age;
    if (!absl::ParseDuration(inv.Flag("max-auth-age"), &age) || age < absl::ZeroDuration() ||
        age == absl::InfiniteDuration()) {
      return Usage("--max-auth-age must be a duration >= 0 such as 5m or 300s");
    }
    request.max_auth_age = age;
  }
  return request;
}

// Writes the one JSON object of a failure (with --json) and the message for
// people, and returns the exit code.
int Fail(const Invocation& inv, std::ostream& out, std::ostream& err, const client::Error& error) {
  if (inv.json) out << DumpJson(ToJson(error)) << "\n";
  err << "tokenctl " << inv.command << ": " << error.ToString() << "\n";
  return ExitCodeFor(error.code);
}

int FailLocal(const Invocation& inv, std::ostream& out, std::ostream& err, ExitCode code,
              const std::string& kind, const std::string& message) {
  if (inv.json) out << DumpJson(ErrorJson(kind, message)) << "\n";
  err << "tokenctl" << (inv.command.empty() ? "" : " ") << inv.command << ": " << message << "\n";
  return code;
}

// The token to work on: the argument, or one line of stdin when the argument
// is missing or "-" (keeps tokens out of shell history and `ps`).
std::optional<std::string> TokenArgument(const Invocation& inv, std::istream& in) {
  if (!inv.args.empty() && inv.args[0] != "-") return inv.args[0];
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  std::string token(absl::StripAsciiWhitespace(line));
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<client::ClientInfo> ClientFlags(const Invocation& inv) {
  if (!inv.Has("user-agent") && !inv.Has("ip")) return std::nullopt;
  return client::ClientInfo{inv.Flag("user-agent"), inv.Flag("ip")};
}

int Emit(const Invocation& inv, std::ostream& out, const nlohmann::json& json,
         const std::string& text) {
  out << (inv.json ? DumpJson(json) + "\n" : text);
  return kExitOk;
}

int RunIssue(const Invocation& inv, client::TokenClient& c, const Dependencies& deps,
             std::ostream& out, std::ostream& err) {
  absl::StatusOr<client::IssueRequest> request = IssueFromFlags(inv, deps.now());
  if (!request.ok()) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE", std::string(request.status().message()));
  }
  client::Result<client::TokenPair> pair = c.Issue(*request);
  if (!pair.ok()) return Fail(inv, out, err, pair.error());
  return Emit(inv, out, ToJson(*pair), ToText(*pair));
}

int RunRefresh(const Invocation& inv, client::TokenClient& c, std::istream& in, std::ostream& out,
               std::ostream& err) {
  std::optional<std::string> token = TokenArgument(inv, in);
  if (!token.has_value()) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE",
                     "no refresh token: give it as the argument or on stdin");
  }
  client::Result<client::TokenPair> pair =
      c.Refresh({.refresh_token = *token, .client = ClientFlags(inv)});
  if (!pair.ok()) return Fail(inv, out, err, pair.error());
  return Emit(inv, out, ToJson(*pair), ToText(*pair));
}

int RunVerify(const Invocation& inv, client::TokenClient& c, std::istream& in, std::ostream& out,
              std::ostream& err) {
  std::optional<std::string> token = TokenArgument(inv, in);
  if (!token.has_value()) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE",
                     "no access token: give it as the argument or on stdin");
  }
  absl::StatusOr<client::VerifyRequest> request = VerifyFromFlags(inv, *token);
  if (!request.ok()) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE", std::string(request.status().message()));
  }
  client::Result<client::AccessClaims> claims = c.Verify(*request);
  if (!claims.ok()) return Fail(inv, out, err, claims.error());
  nlohmann::json json = ToJson(*claims);
  json["valid"] = true;
  return Emit(inv, out, json, ToText(*claims));
}

int RunRevokeAll(const Invocation& inv, client::TokenClient& c, std::ostream& out,
                 std::ostream& err) {
  const std::string& subject = inv.args[0];
  const std::string except = inv.Flag("except");
  client::Result<int64_t> revoked =
      c.RevokeAll({.subject = subject, .reason = inv.Flag("reason"), .except_session_id = except});
  if (!revoked.ok()) return Fail(inv, out, err, revoked.error());
  nlohmann::json json = {{"subject", subject}, {"revoked_sessions", *revoked}};
  std::string text = absl::StrCat("revoked ", *revoked, " live session(s) of ", subject);
  if (!except.empty()) {
    json["except_session_id"] = except;
    absl::StrAppend(&text, "; kept session ", except);
  }
  return Emit(inv, out, json, text + "\n");
}

int RunUpdateSession(const Invocation& inv, client::TokenClient& c, const Dependencies& deps,
                     std::ostream& out, std::ostream& err) {
  absl::StatusOr<client::UpdateSessionRequest> request = UpdateFromFlags(inv, deps.now());
  if (!request.ok()) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE", std::string(request.status().message()));
  }
  client::Result<client::SessionInfo> session = c.UpdateSession(*request);
  if (!session.ok()) return Fail(inv, out, err, session.error());
  return Emit(inv, out, ToJson(*session), ToText(*session));
}

int RunRevokeSession(const Invocation& inv, client::TokenClient& c, std::ostream& out,
                     std::ostream& err) {
  const std::string& id = inv.args[0];
  client::Result<bool> revoked = c.RevokeSession(id, inv.Flag("reason"));
  if (!revoked.ok()) return Fail(inv, out, err, revoked.error());
  return Emit(inv, out, {{"session_id", id}, {"revoked", *revoked}},
              *revoked ? absl::StrCat("revoked session ", id, "\n")
                       : absl::StrCat("session ", id, " was already revoked or is unknown\n"));
}

int RunSessions(const Invocation& inv, client::TokenClient& c, const Dependencies& deps,
                std::ostream& out, std::ostream& err) {
  const std::string& subject = inv.args[0];
  int page_size = 0;
  if (inv.Has("page-size")) (void)absl::SimpleAtoi(inv.Flag("page-size"), &page_size);
  std::string page_token = inv.Flag("page-token");
  const bool all = inv.Has("all");
  std::vector<client::SessionInfo> sessions;
  // --all follows next_page_token; bounded so a misbehaving server cannot loop us.
  constexpr int kMaxPages = 10000;
  for (int page = 0; page < kMaxPages; ++page) {
    client::Result<client::SessionPage> result = c.ListSessions(subject, page_size, page_token);
    if (!result.ok()) return Fail(inv, out, err, result.error());
    sessions.insert(sessions.end(), result->sessions.begin(), result->sessions.end());
    page_token = result->next_page_token;
    if (!all || page_token.empty()) break;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const client::SessionInfo& s : sessions) list.push_back(ToJson(s));
  std::string text = SessionsTable(sessions, deps.now());
  if (!page_token.empty()) absl::StrAppend(&text, "more: --page-token=", page_token, "\n");
  return Emit(inv, out, {{"subject", subject}, {"sessions", list}, {"next_page_token", page_token}},
              text);
}

int RunJwks(const Invocation& inv, const Dependencies& deps, std::ostream& out, std::ostream& err) {
  const std::string url = inv.Flag("jwks-url");
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return FailLocal(inv, out, err, kExitUsage, "USAGE",
                     "--jwks-url must be an http:// or https:// URL");
  }
  HttpResponse response = deps.http_get(url, inv.timeout);
  if (response.status == 0 || response.status >= 500) {
    return FailLocal(inv, out, err, kExitUnavailable, "UNAVAILABLE",
                     response.status == 0
                         ? absl::StrCat("cannot fetch ", url, ": ", response.error)
                         : absl::StrCat("cannot fetch ", url, ": HTTP ", response.status));
  }
  if (response.status != 200) {
    return FailLocal(inv, out, err, kExitOther, "HTTP",
                     absl::StrCat("cannot fetch ", url, ": HTTP ", response.status));
  }
  nlohmann::json jwks = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) {
    return FailLocal(inv, out, err, kExitOther, "BAD_RESPONSE",
                     absl::StrCat(url, " did not return a JWK Set"));
  }
  std::string text =
      absl::StrFormat("%-45s  %-6s  %-4s  %-4s  %s\n", "KID", "ALG", "USE", "KTY", "BITS");
  for (const nlohmann::json& key : jwks["keys"]) {
    auto str = [&](const char* name) {
      return key.contains(name) && key[name].is_string() ? key[name].get<std::string>() : "";
    };
    const std::string n = str("n");
    // base64url: 6 bits per character, rounded down to whole bytes.
    const size_t bits = (n.size() * 6 / 8) * 8;
    absl::StrAppendFormat(&text, "%-45s  %-6s  %-4s  %-4s  %d\n", str("kid"), str("alg"),
                          str("use"), str("kty"), bits);
  }
  if (!response.cache_control.empty()) {
    absl::StrAppend(&text, "cache-control: ", response.cache_control, "\n");
  }
  if (!response.etag.empty()) absl::StrAppend(&text, "etag: ", response.etag, "\n");
  return Emit(inv, out, jwks, text);
}

}  // namespace

std::string Invocation::Flag(const std::string& name) const {
  auto it = flags.find(name);
  return it == flags.end() || it->second.empty() ? "" : it->second.back();
}

absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args,
                                            const GetEnv& getenv) {
  // Keys are written by the server binary, which owns their format; say so
  // before its flags are taken for unknown ones.
  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, "-")) continue;
    if (arg == "keygen") {
      return Usage("keygen is a token-server command: token-server keygen --key-dir=DIR");
    }
    break;
  }
  Invocation inv;
  std::vector<std::pair<std::string, std::string>> raw;
  std::vector<std::string> positional;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h") {
      raw.emplace_back("help", "true");
      continue;
    }
    if (!absl::StartsWith(arg, "--")) return Usage(absl::StrCat("unknown flag ", arg));
    std::string body = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body.resize(eq);
    }
    auto kind = AllFlags().find(body);
    if (kind == AllFlags().end()) return Usage(absl::StrCat("unknown flag --", body));
    if (kind->second == Kind::kBool) {
      if (value.has_value() && *value != "true" && *value != "false") {
        return Usage(absl::StrCat("--", body, " takes no value (or =true / =false)"));
      }
      raw.emplace_back(body, value.value_or("true"));
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat("--", body, " needs a value"));
      value = args[++i];
    }
    raw.emplace_back(body, *value);
  }

  if (std::optional<std::string> env = getenv("TOKEN_SERVER"); env.has_value() && !env->empty()) {
    inv.server = *env;
  }
  for (const auto& [name, value] : raw) {
    if (name == "server") inv.server = value;
    if (name == "json") inv.json = value == "true";
    if (name == "help") inv.help = value == "true";
    if (name == "timeout") {
      if (!absl::ParseDuration(value, &inv.timeout) || inv.timeout <= absl::ZeroDuration()) {
        return Usage(absl::StrCat("--timeout: not a positive duration: ", value));
      }
    }
  }
  if (!positional.empty()) {
    inv.command = positional[0];
    inv.args.assign(positional.begin() + 1, positional.end());
  }
  if (inv.help && inv.command.empty()) return inv;
  if (inv.command.empty()) return Usage("no command given");
  auto spec = Commands().find(inv.command);
  if (spec == Commands().end()) return Usage(absl::StrCat("unknown command ", inv.command));
  if (inv.help) return inv;
  if (inv.server.empty()) return Usage("--server must not be empty");

  for (const auto& [name, value] : raw) {
    if (IsGlobal(name)) continue;
    if (spec->second.flags.count(name) == 0) {
      return Usage(absl::StrCat("--", name, " is not a flag of ", inv.command));
    }
    std::vector<std::string>& values = inv.flags[name];
    if (AllFlags().at(name) != Kind::kRepeated) values.clear();
    values.push_back(value);
  }
  const int count = static_cast<int>(inv.args.size());
  if (count < spec->second.min_args || count > spec->second.max_args) {
    return Usage(
        absl::StrCat(inv.command, " takes ",
                     spec->second.min_args == spec->second.max_args
                         ? absl::StrCat(spec->second.min_args)
                         : absl::StrCat(spec->second.min_args, " or ", spec->second.max_args),
                     " argument(s), got ", count));
  }

  auto default_from_env = [&](const std::string& flag, const std::string& env_name,
                              const std::string& fallback) {
    if (spec->second.flags.count(flag) == 0 || inv.Has(flag)) return;
    std::optional<std::string> env = getenv(env_name);
    inv.flags[flag] = {env.has_value() && !env->empty() ? *env : fallback};
  };
  default_from_env("jwks-url", "TOKEN_JWKS_URL", kDefaultJwksUrl);
  // Values that need no server are checked here, so that a mistake is a
  // usage error before anything is sent (the epoch stands in for "now").
  if (inv.command == "issue") {
    if (Values(inv, "acr").size() > 1) return Usage("--acr takes one value in issue");
    if (absl::StatusOr<client::IssueRequest> r = IssueFromFlags(inv, absl::UnixEpoch()); !r.ok()) {
      return r.status();
    }
  }
  if (inv.command == "update-session") {
    if (Values(inv, "acr").size() > 1) return Usage("--acr takes one value in update-session");
    if (absl::StatusOr<client::UpdateSessionRequest> r = UpdateFromFlags(inv, absl::UnixEpoch());
        !r.ok()) {
      return r.status();
    }
  }
  if (inv.command == "verify") {
    if (absl::StatusOr<client::VerifyRequest> r = VerifyFromFlags(inv, ""); !r.ok()) {
      return r.status();
    }
  }
  if (inv.Has("page-size")) {
    int size = 0;
    if (!absl::SimpleAtoi(inv.Flag("page-size"), &size) || size < 0) {
      return Usage("--page-size must be a number >= 0");
    }
  }
  return inv;
}

std::string UsageText() {
  return R"(tokenctl: operate the token service (token.v1.TokenService) from a shell.

usage: tokenctl [--server=HOST:PORT] [--timeout=10s] [--json] COMMAND [ARGS] [FLAGS]

commands:
  issue SUBJECT [--role=R]... [--audience=A] [--user-agent=UA] [--ip=IP]
        [--claims-json=OBJECT] [--claim=NAME=VALUE]... [--scope=S]...
        [--auth-time=now|RFC3339] [--amr=M]... [--acr=A] [--metadata=KEY=VALUE]...
        start a session for an authenticated user; prints the token pair.
        --claim sets one custom claim on top of --claims-json: VALUE is JSON
        when it parses as JSON (5, true, {"beta":true}, "5"), else a string.
        Custom claims, scopes, auth_time, amr and acr are in every access
        token of the session; metadata is kept with the session only
  refresh [REFRESH_TOKEN | -] [--user-agent=UA] [--ip=IP]
        rotate a refresh token; prints the new pair
  verify [ACCESS_TOKEN | -] [--audience=A] [--require-role=R]...
        [--require-scope=S]... [--max-auth-age=DURATION] [--acr=A]...
        check an access token online (revocation included); prints its claims.
        --max-auth-age (e.g. 5m) and --acr (acceptable values) demand a
        recent or strong enough login (INSUFFICIENT_USER_AUTHENTICATION)
  update-session SESSION_ID [--role=R]... [--claims-json=OBJECT]
        [--claim=NAME=VALUE]... [--scope=S]... [--auth-time=now|RFC3339|none]
        [--amr=M]... [--acr=A] [--metadata=KEY=VALUE]... [--clear=FIELD]...
        change a live session: only the fields given change (--clear FIELD
        empties one of roles, claims, scopes, auth_time, amr, acr, metadata);
        the session's next access token (next refresh) carries the new values.
        Prints the session
  revoke-all SUBJECT [--reason=TEXT] [--except=SESSION_ID]
        revoke every session of SUBJECT ("log out everywhere"); with
        --except, every session but that one ("log out my other devices")
  revoke-session SESSION_ID [--reason=TEXT]
        revoke one session
  sessions SUBJECT [--page-size=N] [--page-token=T] [--all]
        list SUBJECT's sessions, newest first (--all follows every page)
  jwks [--jwks-url=URL]
        fetch and show the published signing keys

refresh and verify read the token from the first line of stdin when it is
omitted or "-", which keeps it out of shell history and the process list.
Only issue and refresh print tokens: that is their output.

global flags:
  --server=HOST:PORT  gRPC address (default $TOKEN_SERVER, else 127.0.0.1:50051)
  --timeout=DURATION  deadline of the command, retries included (default 10s);
                      UNAVAILABLE is retried with backoff inside it
  --json              print exactly one JSON object on stdout, also on failure:
                      {"error": {"code", "reason", "message"}}
  --help              this text
  --jwks-url defaults to $TOKEN_JWKS_URL, else
  http://127.0.0.1:8080/.well-known/jwks.json. Signing keys are written by
  token-server keygen.

exit codes:
  0  success
  1  usage error: unknown command or flag, missing or extra argument
  2  the service refused the request: UNAUTHENTICATED (e.g. TOKEN_EXPIRED,
     TOKEN_REVOKED, REFRESH_TOKEN_REUSED, INSUFFICIENT_USER_AUTHENTICATION),
     INVALID_ARGUMENT (e.g. INVALID_CLAIMS), PERMISSION_DENIED (MISSING_ROLE,
     MISSING_SCOPE), NOT_FOUND (SESSION_NOT_FOUND), FAILED_PRECONDITION
  3  the service is unavailable or too slow: UNAVAILABLE, DEADLINE_EXCEEDED,
     RESOURCE_EXHAUSTED, or the JWKS URL cannot be fetched; retry later
  4  anything else: INTERNAL, an unexpected response, a local I/O error
)";
}

Dependencies RealDependencies() {
  Dependencies deps;
  deps.connect = [](const std::string& server, absl::Duration timeout) {
    client::TokenClientOptions options;
    options.timeout = timeout;
    return client::TokenClient::Connect(server, options);
  };
  deps.http_get = [](const std::string& url, absl::Duration timeout) {
    HttpResponse out;
    // "http://host:port/path" → "http://host:port" and "/path".
    const size_t scheme_end = url.find("://");
    const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    const std::string origin = url.substr(0, path_start);
    const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
    httplib::Client http(origin);
    const auto micros = absl::ToInt64Microseconds(timeout);
    http.set_connection_timeout(micros / 1000000, micros % 1000000);
    http.set_read_timeout(micros / 1000000, micros % 1000000);
    auto result = http.Get(path.c_str());
    if (!result) {
      out.error = httplib::to_string(result.error());
      return out;
    }
    out.status = result->status;
    out.body = result->body;
    out.cache_control = result->get_header_value("Cache-Control");
    out.etag = result->get_header_value("ETag");
    return out;
  };
  deps.now = [] { return absl::Now(); };
  return deps;
}

int Run(const Invocation& inv, const Dependencies& deps, std::istream& in, std::ostream& out,
        std::ostream& err) {
  if (inv.help) {
    out << UsageText();
    return kExitOk;
  }
  if (inv.command == "jwks") return RunJwks(inv, deps, out, err);

  client::TokenClientPtr c = deps.connect(inv.server, inv.timeout);
  if (inv.command == "issue") return RunIssue(inv, *c, deps, out, err);
  if (inv.command == "update-session") return RunUpdateSession(inv, *c, deps, out, err);
  if (inv.command == "refresh") return RunRefresh(inv, *c, in, out, err);
  if (inv.command == "verify") return RunVerify(inv, *c, in, out, err);
  if (inv.command == "revoke-all") return RunRevokeAll(inv, *c, out, err);
  if (inv.command == "revoke-session") return RunRevokeSession(inv, *c, out, err);
  if (inv.command == "sessions") return RunSessions(inv, *c, deps, out, err);
  return FailLocal(inv, out, err, kExitUsage, "USAGE",
                   absl::StrCat("unknown command ", inv.command));
}

int Main(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
         std::ostream& err) {
  absl::StatusOr<Invocation> inv = ParseCommandLine(args, [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  });
  if (!inv.ok()) {
    Invocation failed;
    for (const std::string& arg : args) failed.json = failed.json || arg == "--json";
    FailLocal(failed, out, err, kExitUsage, "USAGE", std::string(inv.status().message()));
    if (!failed.json) err << "run `tokenctl --help` for usage\n";
    return kExitUsage;
  }
  return Run(*inv, RealDependencies(), in, out, err);
}

}  // namespace token::tokenctl
