#include "client/tokenctl/cli.h"

#include <cstdlib>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/tokenctl/output.h"
#include "httplib.h"

namespace token::tokenctl {
namespace {

enum class Kind { kBool, kValue, kRepeated };

// Every flag tokenctl knows, with its kind (the same in every command).
const std::map<std::string, Kind>& AllFlags() {
  static const auto* const flags = new std::map<std::string, Kind>{
      {"server", Kind::kValue},     {"timeout", Kind::kValue},   {"json", Kind::kBool},
      {"help", Kind::kBool},        {"role", Kind::kRepeated},   {"audience", Kind::kValue},
      {"user-agent", Kind::kValue}, {"ip", Kind::kValue},        {"require-role", Kind::kRepeated},
      {"reason", Kind::kValue},     {"page-size", Kind::kValue}, {"page-token", Kind::kValue},
      {"all", Kind::kBool},         {"jwks-url", Kind::kValue},  {"bits", Kind::kValue},
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
      {"issue", {1, 1, {"role", "audience", "user-agent", "ip"}}},
      {"refresh", {0, 1, {"user-agent", "ip"}}},
      {"verify", {0, 1, {"audience", "require-role"}}},
      {"revoke-all", {1, 1, {"reason"}}},
      {"revoke-session", {1, 1, {"reason"}}},
      {"sessions", {1, 1, {"page-size", "page-token", "all"}}},
      {"jwks", {0, 0, {"jwks-url"}}},
  };
  return *commands;
}

absl::Status Usage(const std::string& message) { return absl::InvalidArgumentError(message); }

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

int RunIssue(const Invocation& inv, client::TokenClient& c, std::ostream& out, std::ostream& err) {
  client::IssueRequest request{
      .subject = inv.args[0],
      .roles = inv.flags.count("role") ? inv.flags.at("role") : std::vector<std::string>{},
      .audience = inv.Flag("audience"),
      .client = ClientFlags(inv)};
  client::Result<client::TokenPair> pair = c.Issue(request);
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
  client::VerifyRequest request{.access_token = *token,
                                .audience = inv.Flag("audience"),
                                .required_roles = inv.flags.count("require-role")
                                                      ? inv.flags.at("require-role")
                                                      : std::vector<std::string>{}};
  client::Result<client::AccessClaims> claims = c.Verify(request);
  if (!claims.ok()) return Fail(inv, out, err, claims.error());
  nlohmann::json json = ToJson(*claims);
  json["valid"] = true;
  return Emit(inv, out, json, ToText(*claims));
}

int RunRevokeAll(const Invocation& inv, client::TokenClient& c, std::ostream& out,
                 std::ostream& err) {
  const std::string& subject = inv.args[0];
  client::Result<int64_t> revoked = c.RevokeAll(subject, inv.Flag("reason"));
  if (!revoked.ok()) return Fail(inv, out, err, revoked.error());
  return Emit(inv, out, {{"subject", subject}, {"revoked_sessions", *revoked}},
              absl::StrCat("revoked ", *revoked, " live session(s) of ", subject, "\n"));
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
        start a session for an authenticated user; prints the token pair
  refresh [REFRESH_TOKEN | -] [--user-agent=UA] [--ip=IP]
        rotate a refresh token; prints the new pair
  verify [ACCESS_TOKEN | -] [--audience=A] [--require-role=R]...
        check an access token online (revocation included); prints its claims
  revoke-all SUBJECT [--reason=TEXT]
        revoke every session of SUBJECT ("log out everywhere")
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
     TOKEN_REVOKED, REFRESH_TOKEN_REUSED), INVALID_ARGUMENT, PERMISSION_DENIED
     (MISSING_ROLE), NOT_FOUND, FAILED_PRECONDITION
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
  if (inv.command == "issue") return RunIssue(inv, *c, out, err);
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
