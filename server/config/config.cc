#include "server/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace token {
namespace {

constexpr absl::Duration kTenYears = absl::Hours(24 * 3653);

absl::Status ValidateListen(absl::string_view flag, const std::string& value);

// NotEmpty refuses an empty value.
absl::Status NotEmpty(absl::string_view flag, const std::string& value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be set"));
  return absl::OkStatus();
}

// Audience: set, and at most the 255 bytes the contract allows.
absl::Status ValidAudience(absl::string_view flag, const std::string& value) {
  if (value.empty() || value.size() > 255) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be 1 to 255 bytes"));
  }
  return absl::OkStatus();
}

using C = ServerConfig;

// Every flag, once. Order is the usage text's.
std::vector<FlagSpec> MakeServerFlags() {
  return {
      StringFlag("grpc-listen", &C::grpc_listen, "127.0.0.1:50051", "gRPC listen address host:port",
                 ValidateListen),
      StringFlag("http-listen", &C::http_listen, "127.0.0.1:8080",
                 "HTTP listen address (JWKS, health, metrics)", ValidateListen),
      StringFlag("database-url", &C::database_url, "",
                 "libpq connection string; empty = the embedded development database"),
      StringFlag("key-dir", &C::key_dir, "./.data/keys",
                 "directory of signing-key PEM files and refresh-secret (see --generate-keys)",
                 NotEmpty),
      StringFlag("issuer", &C::issuer, "token-service", "iss of issued access tokens", NotEmpty),
      StringFlag("audience", &C::audience, "api", "default aud when a request names none",
                 ValidAudience),
      // Access tokens carry whole-second times: anything shorter than 1 s
      // would expire as it is issued.
      DurationFlag("access-ttl", &C::access_ttl, absl::Minutes(15), absl::Seconds(1),
                   absl::Hours(24), "access token lifetime"),
      DurationFlag("refresh-idle-ttl", &C::refresh_idle_ttl, absl::Hours(168), absl::Seconds(1),
                   kTenYears, "refresh idle (sliding) lifetime"),
      DurationFlag("refresh-absolute-ttl", &C::refresh_absolute_ttl, absl::Hours(720),
                   absl::Seconds(1), kTenYears, "session absolute lifetime"),
      DurationFlag("reuse-grace", &C::reuse_grace, absl::Seconds(10), absl::ZeroDuration(),
                   absl::Hours(1),
                   "grace window for retrying the previous refresh token; 0 disables"),
      DurationFlag("clock-skew", &C::clock_skew, absl::Seconds(30), absl::ZeroDuration(),
                   absl::Hours(1), "leeway on exp and nbf"),
      DurationFlag("max-clock-offset", &C::max_clock_offset, absl::Seconds(2),
                   absl::Milliseconds(100), absl::Minutes(5),
                   "largest tolerated offset of this replica's clock from the database's; "
                   "beyond it the replica is not ready and refuses refreshes"),
      // Key names carry whole seconds, so a shorter period could not be honoured.
      DurationFlag("key-publish-period", &C::key_publish_period, absl::Hours(1), absl::Seconds(1),
                   absl::Hours(24 * 30),
                   "how long a new signing key is published before it signs; JWKS max-age is "
                   "half"),
      BoolFlag("migrate", &C::migrate, true, "apply pending migrations before serving"),
      StringFlag("tls-cert", &C::tls_cert, "",
                 "server certificate chain PEM, leaf first (with --tls-key: TLS on gRPC and "
                 "HTTP)"),
      StringFlag("tls-key", &C::tls_key, "", "private key PEM of --tls-cert (unencrypted)"),
      StringFlag("tls-client-ca", &C::tls_client_ca, "",
                 "CA bundle PEM; client certificates are then required and verified (mTLS)"),
      StringFlag("authz-policy", &C::authz_policy, "",
                 "gRPC authorization policy JSON matching client-certificate identities per RPC "
                 "(needs --tls-client-ca)"),
      BoolFlag("insecure-plaintext", &C::insecure_plaintext, false,
               "serve: allow plaintext gRPC and HTTP on a non-loopback address (without it, "
               "serve refuses to start there without --tls-cert)"),
      BoolFlag("generate-keys", &C::generate_keys, false,
               "serve: write a signing key and refresh-secret into --key-dir when missing "
               "(development only: every replica would make its own)"),
      DurationFlag("tls-reload-interval", &C::tls_reload_interval, absl::Seconds(60),
                   absl::Seconds(1), absl::Hours(24),
                   "how often the TLS files and the policy are checked for changes (whole "
                   "seconds)"),
      IntFlag("db-pool-size", &C::db_pool_size, 8, 1, 256,
              "database connections (and worker threads)"),
      IntFlag("max-pending-calls", &C::max_pending_calls, 512, 1, INT_MAX,
              "calls waiting for a worker before RESOURCE_EXHAUSTED"),
      DurationFlag("drain-timeout", &C::drain_timeout, absl::Seconds(10), absl::Milliseconds(1),
                   absl::Hours(1), "how long SIGTERM waits for in-flight calls"),
      IntFlag("max-roles", &C::max_roles, 64, 0, 1024, "most roles one IssueTokens may carry"),
      IntFlag("max-role-bytes", &C::max_role_bytes, 128, 1, 4096, "longest role name in bytes"),
      IntFlag("max-user-agent-bytes", &C::max_user_agent_bytes, 512, 0, 16384,
              "longest client user agent in bytes"),
      IntFlag("max-token-bytes", &C::max_token_bytes, 8192, 1024, 65536,
              "longest access token issued or accepted, in bytes"),
      IntFlag("max-claims-bytes", &C::max_claims_bytes, 4096, 256, 65536,
              "longest custom claims object of one session (IssueTokens, UpdateSession), in "
              "bytes of compact JSON"),
      IntFlag("max-message-bytes", &C::max_message_bytes, 65536, 4096, 16 << 20,
              "largest gRPC request message in bytes"),
      IntFlag("max-concurrent-streams", &C::max_concurrent_streams, 100, 1, 100000,
              "concurrent calls per gRPC connection"),
      IntFlag("refresh-failure-limit", &C::refresh_failure_limit, 20, 0, 1000000,
              "failed refreshes per session or client address per window before "
              "RESOURCE_EXHAUSTED; 0 disables"),
      DurationFlag("refresh-failure-window", &C::refresh_failure_window, absl::Minutes(1),
                   absl::Seconds(1), absl::Hours(24),
                   "window over which --refresh-failure-limit refills"),
      IntChoiceFlag("bits", &C::key_bits, 2048, {2048, 3072, 4096},
                    "keygen: RSA key size (2048, 3072 or 4096)"),
  };
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& spec : ServerFlags()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string EnvName(absl::string_view dashed) {
  return absl::StrCat("TOKEN_", absl::AsciiStrToUpper(absl::StrReplaceAll(dashed, {{"-", "_"}})));
}

// SetFlag parses `value` into `config`, naming `source` in the error.
absl::Status SetFlag(const FlagSpec& spec, absl::string_view value, absl::string_view source,
                     ServerConfig& config) {
  absl::Status s = spec.parse(value, config);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
}

absl::Status ValidateListen(absl::string_view flag, const std::string& value) {
  const size_t colon = value.rfind(':');
  const absl::string_view host =
      colon == std::string::npos ? absl::string_view() : absl::string_view(value).substr(0, colon);
  const absl::string_view port_text =
      colon == std::string::npos ? absl::string_view() : absl::string_view(value).substr(colon + 1);
  const bool host_ok = !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
           absl::ascii_iscntrl(static_cast<unsigned char>(c));
  });
  const bool digits_only = !port_text.empty() && port_text.size() <= 5 &&
                           std::all_of(port_text.begin(), port_text.end(), [](char c) {
                             return absl::ascii_isdigit(static_cast<unsigned char>(c));
                           });
  int port = 0;
  if (!host_ok || !digits_only || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be host:port, got \"", value, "\""));
  }
  return absl::OkStatus();
}

// ValidateTls checks that the TLS flags make one of the three supported
// set-ups: none (plaintext), TLS, or mTLS with an optional policy. Whether
// the files themselves are usable is checked at start-up (server/tls/).
absl::StatusOr<ServerConfig> ValidateTls(ServerConfig c) {
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key: client certificates are only asked "
        "for over TLS");
  }
  if (!c.authz_policy.empty() && c.tls_client_ca.empty()) {
    return absl::InvalidArgumentError(
        "--authz-policy needs mTLS (--tls-cert, --tls-key and --tls-client-ca): the policy "
        "identifies callers by their client certificates");
  }
  if (c.tls_reload_interval != absl::Seconds(absl::ToInt64Seconds(c.tls_reload_interval))) {
    return absl::InvalidArgumentError("--tls-reload-interval must be a whole number of seconds");
  }
  return c;
}

// Validate checks every flag's bounds, in table order, then the rules that
// span flags.
absl::StatusOr<ServerConfig> Validate(ServerConfig c) {
  for (const FlagSpec& spec : ServerFlags()) {
    if (absl::Status s = spec.check(c); !s.ok()) return s;
  }
  if (c.refresh_idle_ttl > c.refresh_absolute_ttl) {
    return absl::InvalidArgumentError(
        "--refresh-idle-ttl must not be longer than --refresh-absolute-ttl");
  }
  return ValidateTls(c);
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args,
                                           const EnvLookup& env) {
  // Help is always available, even when the environment holds a bad value.
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      Invocation help;
      help.command = Command::kHelp;
      return help;
    }
  }
  Invocation invocation;
  ServerConfig& config = invocation.config;
  for (const FlagSpec& spec : ServerFlags()) {
    if (absl::Status s = SetFlag(spec, spec.default_text, "default", config); !s.ok()) return s;
    const std::string var = EnvName(spec.name);
    if (std::optional<std::string> value = env(var); value.has_value()) {
      if (absl::Status s = SetFlag(spec, *value, var, config); !s.ok()) return s;
    }
  }

  bool have_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::StartsWith(arg, "-")) {
      if (have_command) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
      }
      have_command = true;
      if (arg == "migrate") {
        invocation.command = Command::kMigrate;
      } else if (arg == "keygen") {
        invocation.command = Command::kKeygen;
      } else if (arg == "serve") {
        invocation.command = Command::kServe;
      } else if (arg == "help") {
        invocation.command = Command::kHelp;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown command \"", arg, "\""));
      }
      continue;
    }
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) absl::ConsumePrefix(&body, "-");
    std::string name;
    std::optional<std::string> value;
    if (const size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = std::string(body.substr(0, eq));
      value = std::string(body.substr(eq + 1));
    } else {
      name = std::string(body);
    }
    name = absl::StrReplaceAll(name, {{"_", "-"}});
    const FlagSpec* spec = FindFlag(name);
    bool negated = false;
    if (spec == nullptr && absl::StartsWith(name, "no") && !value.has_value()) {
      spec = FindFlag(name.substr(2));
      negated = spec != nullptr && spec->is_bool;
      if (!negated) spec = nullptr;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", arg, "\""));
    }
    if (!value.has_value()) {
      if (spec->is_bool) {
        value = negated ? "false" : "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag \"", arg, "\" needs a value"));
      }
    }
    if (absl::Status s = SetFlag(*spec, *value, "command line", config); !s.ok()) return s;
  }

  absl::StatusOr<ServerConfig> validated = Validate(config);
  if (!validated.ok()) return validated.status();
  return invocation;
}

const std::vector<FlagSpec>& ServerFlags() {
  static const std::vector<FlagSpec>* const flags = new std::vector<FlagSpec>(MakeServerFlags());
  return *flags;
}

std::string UsageText() {
  std::string out =
      "Usage: token-server [serve|migrate|keygen|help] [--flag=value ...]\n"
      "  serve    (default) run the gRPC and HTTP servers\n"
      "  migrate  apply pending database migrations and exit\n"
      "  keygen   write a new signing key into --key-dir and exit\n\n"
      "Flags (each also read from the environment variable shown; the command line wins):\n";
  for (const FlagSpec& spec : ServerFlags()) {
    absl::StrAppend(&out, "  --", spec.name, " (", EnvName(spec.name), ", default \"",
                    spec.default_text, "\")\n      ", spec.help, "\n");
  }
  absl::StrAppend(&out,
                  "\nExit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration.\n");
  return out;
}

bool IsLoopbackListen(absl::string_view listen) {
  const absl::string_view host = listen.substr(0, listen.rfind(':'));
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::Status CheckPlaintextListen(const ServerConfig& config) {
  if (!config.tls_cert.empty() || config.insecure_plaintext) return absl::OkStatus();
  const std::pair<absl::string_view, const std::string*> listens[] = {
      {"grpc-listen", &config.grpc_listen}, {"http-listen", &config.http_listen}};
  for (const auto& [flag, address] : listens) {
    if (IsLoopbackListen(*address)) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", *address,
        " is not a loopback address and TLS is off: refusing to serve plaintext there, where "
        "any caller could issue tokens for any subject. Configure --tls-cert, --tls-key, "
        "--tls-client-ca and --authz-policy, listen on 127.0.0.1, or pass --insecure-plaintext "
        "to accept the risk"));
  }
  return absl::OkStatus();
}

std::string EmbeddedDatabaseUrl(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(data_dir, ec);
  return absl::StrCat("host=", (dir / "run").string(), " dbname=token user=token");
}

}  // namespace token
