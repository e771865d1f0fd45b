#include "server/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

// Abseil flag names cannot contain dashes; the command line spells them with
// dashes and ParseInvocation translates.
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:50051", "gRPC listen address host:port");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "HTTP listen address (JWKS, health, metrics)");
ABSL_FLAG(std::string, database_url, "",
          "libpq connection string; empty = the embedded development database");
ABSL_FLAG(std::string, key_dir, "./.data/keys",
          "directory of signing-key PEM files and refresh-secret (see --generate-keys)");
ABSL_FLAG(std::string, issuer, "token-service", "iss of issued access tokens");
ABSL_FLAG(std::string, audience, "api", "default aud when a request names none");
ABSL_FLAG(absl::Duration, access_ttl, absl::Minutes(15), "access token lifetime");
ABSL_FLAG(absl::Duration, refresh_idle_ttl, absl::Hours(168), "refresh idle (sliding) lifetime");
ABSL_FLAG(absl::Duration, refresh_absolute_ttl, absl::Hours(720), "session absolute lifetime");
ABSL_FLAG(absl::Duration, reuse_grace, absl::Seconds(10),
          "grace window for retrying the previous refresh token; 0 disables");
ABSL_FLAG(absl::Duration, clock_skew, absl::Seconds(30), "leeway on exp and nbf");
ABSL_FLAG(absl::Duration, max_clock_offset, absl::Seconds(2),
          "largest tolerated offset of this replica's clock from the database's; beyond it the "
          "replica is not ready and refuses refreshes");
ABSL_FLAG(absl::Duration, key_publish_period, absl::Hours(1),
          "how long a new signing key is published before it signs; JWKS max-age is half");
ABSL_FLAG(bool, migrate, true, "apply pending migrations before serving");
ABSL_FLAG(std::string, tls_cert, "",
          "server certificate chain PEM, leaf first (with --tls-key: TLS on gRPC and HTTP)");
ABSL_FLAG(std::string, tls_key, "", "private key PEM of --tls-cert (unencrypted)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "CA bundle PEM; client certificates are then required and verified (mTLS)");
ABSL_FLAG(std::string, authz_policy, "",
          "gRPC authorization policy JSON matching client-certificate identities per RPC "
          "(needs --tls-client-ca)");
ABSL_FLAG(bool, insecure_plaintext, false,
          "serve: allow plaintext gRPC and HTTP on a non-loopback address (without it, serve "
          "refuses to start there without --tls-cert)");
ABSL_FLAG(bool, generate_keys, false,
          "serve: write a signing key and refresh-secret into --key-dir when missing "
          "(development only: every replica would make its own)");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(60),
          "how often the TLS files and the policy are checked for changes (whole seconds)");
ABSL_FLAG(int, db_pool_size, 8, "database connections (and worker threads)");
ABSL_FLAG(int, max_pending_calls, 512, "calls waiting for a worker before RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "how long SIGTERM waits for in-flight calls");
ABSL_FLAG(int, max_roles, 64, "most roles one IssueTokens may carry");
ABSL_FLAG(int, max_role_bytes, 128, "longest role name in bytes");
ABSL_FLAG(int, max_user_agent_bytes, 512, "longest client user agent in bytes");
ABSL_FLAG(int, max_token_bytes, 8192, "longest access token VerifyAccess accepts, in bytes");
ABSL_FLAG(int, max_message_bytes, 65536, "largest gRPC request message in bytes");
ABSL_FLAG(int, max_concurrent_streams, 100, "concurrent calls per gRPC connection");
ABSL_FLAG(int, refresh_failure_limit, 20,
          "failed refreshes per session or client address per window before "
          "RESOURCE_EXHAUSTED; 0 disables");
ABSL_FLAG(absl::Duration, refresh_failure_window, absl::Minutes(1),
          "window over which --refresh-failure-limit refills");
ABSL_FLAG(int, bits, 2048, "keygen: RSA key size (2048, 3072 or 4096)");

namespace token {
namespace {

// Every flag this binary accepts, by its Abseil name.
// One name per line (clang-format would lay them out as a grid).
// clang-format off
constexpr absl::string_view kFlagNames[] = {
    "grpc_listen",
    "http_listen",
    "database_url",
    "key_dir",
    "issuer",
    "audience",
    "access_ttl",
    "refresh_idle_ttl",
    "refresh_absolute_ttl",
    "reuse_grace",
    "clock_skew",
    "max_clock_offset",
    "key_publish_period",
    "migrate",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
    "authz_policy",
    "insecure_plaintext",
    "generate_keys",
    "tls_reload_interval",
    "db_pool_size",
    "max_pending_calls",
    "drain_timeout",
    "max_roles",
    "max_role_bytes",
    "max_user_agent_bytes",
    "max_token_bytes",
    "max_message_bytes",
    "max_concurrent_streams",
    "refresh_failure_limit",
    "refresh_failure_window",
    "bits",
};
// clang-format on

bool IsOurFlag(absl::string_view name) {
  for (absl::string_view known : kFlagNames) {
    if (known == name) return true;
  }
  return false;
}

std::string DashedName(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

std::string EnvName(absl::string_view name) {
  return absl::StrCat("TOKEN_", absl::AsciiStrToUpper(name));
}

absl::Status SetFlag(absl::string_view name, absl::string_view value, absl::string_view source) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  std::string error;
  if (flag == nullptr || !flag->ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": invalid value for --", DashedName(name), ": ", error));
  }
  return absl::OkStatus();
}

// Flags are process-global; reset them so parsing is a pure function of its
// inputs (tests parse many times).
void ResetFlags() {
  for (absl::string_view name : kFlagNames) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    flag->ParseFrom(flag->DefaultValue(), &error);
  }
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

// ValidateCount keeps a numeric limit within [min, max].
absl::Status ValidateCount(absl::string_view flag, int value, int min, int max) {
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be between ", min, " and ", max));
  }
  return absl::OkStatus();
}

// ValidateRange keeps durations finite and sane: "inf" is valid Abseil
// syntax, and a lifetime of years would overflow what the database stores.
absl::Status ValidateRange(absl::string_view flag, absl::Duration d, absl::Duration min,
                           absl::Duration max) {
  if (d < min || d > max) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be between ",
                                                   absl::FormatDuration(min), " and ",
                                                   absl::FormatDuration(max)));
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

absl::StatusOr<ServerConfig> ReadFlags() {
  ServerConfig c;
  c.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  c.http_listen = absl::GetFlag(FLAGS_http_listen);
  c.database_url = absl::GetFlag(FLAGS_database_url);
  c.key_dir = absl::GetFlag(FLAGS_key_dir);
  c.issuer = absl::GetFlag(FLAGS_issuer);
  c.audience = absl::GetFlag(FLAGS_audience);
  c.access_ttl = absl::GetFlag(FLAGS_access_ttl);
  c.refresh_idle_ttl = absl::GetFlag(FLAGS_refresh_idle_ttl);
  c.refresh_absolute_ttl = absl::GetFlag(FLAGS_refresh_absolute_ttl);
  c.reuse_grace = absl::GetFlag(FLAGS_reuse_grace);
  c.clock_skew = absl::GetFlag(FLAGS_clock_skew);
  c.max_clock_offset = absl::GetFlag(FLAGS_max_clock_offset);
  c.key_publish_period = absl::GetFlag(FLAGS_key_publish_period);
  c.migrate = absl::GetFlag(FLAGS_migrate);
  c.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  c.tls_key = absl::GetFlag(FLAGS_tls_key);
  c.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  c.authz_policy = absl::GetFlag(FLAGS_authz_policy);
  c.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  c.insecure_plaintext = absl::GetFlag(FLAGS_insecure_plaintext);
  c.generate_keys = absl::GetFlag(FLAGS_generate_keys);
  c.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  c.max_pending_calls = absl::GetFlag(FLAGS_max_pending_calls);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.key_bits = absl::GetFlag(FLAGS_bits);
  c.max_roles = absl::GetFlag(FLAGS_max_roles);
  c.max_role_bytes = absl::GetFlag(FLAGS_max_role_bytes);
  c.max_user_agent_bytes = absl::GetFlag(FLAGS_max_user_agent_bytes);
  c.max_token_bytes = absl::GetFlag(FLAGS_max_token_bytes);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  c.refresh_failure_limit = absl::GetFlag(FLAGS_refresh_failure_limit);
  c.refresh_failure_window = absl::GetFlag(FLAGS_refresh_failure_window);

  constexpr absl::Duration kTenYears = absl::Hours(24 * 3653);
  absl::Status s = ValidateListen("grpc-listen", c.grpc_listen);
  if (s.ok()) s = ValidateListen("http-listen", c.http_listen);
  // Access tokens carry whole-second times: anything shorter than 1 s would
  // expire as it is issued.
  if (s.ok()) s = ValidateRange("access-ttl", c.access_ttl, absl::Seconds(1), absl::Hours(24));
  if (s.ok()) {
    s = ValidateRange("refresh-idle-ttl", c.refresh_idle_ttl, absl::Seconds(1), kTenYears);
  }
  if (s.ok()) {
    s = ValidateRange("refresh-absolute-ttl", c.refresh_absolute_ttl, absl::Seconds(1), kTenYears);
  }
  if (s.ok()) s = ValidateRange("reuse-grace", c.reuse_grace, absl::ZeroDuration(), absl::Hours(1));
  if (s.ok()) s = ValidateRange("clock-skew", c.clock_skew, absl::ZeroDuration(), absl::Hours(1));
  if (s.ok()) {
    s = ValidateRange("max-clock-offset", c.max_clock_offset, absl::Milliseconds(100),
                      absl::Minutes(5));
  }
  // Key names carry whole seconds, so a shorter period could not be honoured.
  if (s.ok()) {
    s = ValidateRange("key-publish-period", c.key_publish_period, absl::Seconds(1),
                      absl::Hours(24 * 30));
  }
  if (s.ok()) {
    s = ValidateRange("drain-timeout", c.drain_timeout, absl::Milliseconds(1), absl::Hours(1));
  }
  if (s.ok()) {
    s = ValidateRange("tls-reload-interval", c.tls_reload_interval, absl::Seconds(1),
                      absl::Hours(24));
  }
  if (s.ok()) s = ValidateCount("max-roles", c.max_roles, 0, 1024);
  if (s.ok()) s = ValidateCount("max-role-bytes", c.max_role_bytes, 1, 4096);
  if (s.ok()) s = ValidateCount("max-user-agent-bytes", c.max_user_agent_bytes, 0, 16384);
  if (s.ok()) s = ValidateCount("max-token-bytes", c.max_token_bytes, 1024, 65536);
  if (s.ok()) s = ValidateCount("max-message-bytes", c.max_message_bytes, 4096, 16 << 20);
  if (s.ok()) s = ValidateCount("max-concurrent-streams", c.max_concurrent_streams, 1, 100000);
  if (s.ok()) s = ValidateCount("refresh-failure-limit", c.refresh_failure_limit, 0, 1000000);
  if (s.ok()) {
    s = ValidateRange("refresh-failure-window", c.refresh_failure_window, absl::Seconds(1),
                      absl::Hours(24));
  }
  if (!s.ok()) return s;
  if (c.refresh_idle_ttl > c.refresh_absolute_ttl) {
    return absl::InvalidArgumentError(
        "--refresh-idle-ttl must not be longer than --refresh-absolute-ttl");
  }
  if (c.issuer.empty() || c.audience.empty() || c.audience.size() > 255) {
    return absl::InvalidArgumentError("--issuer and --audience must be set (audience ≤ 255 bytes)");
  }
  if (c.key_dir.empty()) return absl::InvalidArgumentError("--key-dir must be set");
  if (c.db_pool_size < 1 || c.db_pool_size > 256) {
    return absl::InvalidArgumentError("--db-pool-size must be between 1 and 256");
  }
  if (c.max_pending_calls < 1) {
    return absl::InvalidArgumentError("--max-pending-calls must be at least 1");
  }
  if (c.key_bits != 2048 && c.key_bits != 3072 && c.key_bits != 4096) {
    return absl::InvalidArgumentError("--bits must be 2048, 3072 or 4096");
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
  ResetFlags();
  // Help is always available, even when the environment holds a bad value.
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      Invocation help;
      help.command = Command::kHelp;
      return help;
    }
  }
  for (absl::string_view name : kFlagNames) {
    const std::string var = EnvName(name);
    if (std::optional<std::string> value = env(var); value.has_value()) {
      absl::Status s = SetFlag(name, *value, var);
      if (!s.ok()) return s;
    }
  }

  Invocation invocation;
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
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      invocation.command = Command::kHelp;
      return invocation;
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
    name = absl::StrReplaceAll(name, {{"-", "_"}});
    bool negated = false;
    if (!IsOurFlag(name) && absl::StartsWith(name, "no") && IsOurFlag(name.substr(2)) &&
        !value.has_value()) {
      name = name.substr(2);
      negated = true;
    }
    if (!IsOurFlag(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", arg, "\""));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    const bool is_bool = flag->IsOfType<bool>();
    if (!value.has_value()) {
      if (is_bool) {
        value = negated ? "false" : "true";
      } else if (negated) {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", arg, "\""));
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag \"", arg, "\" needs a value"));
      }
    }
    absl::Status s = SetFlag(name, *value, "command line");
    if (!s.ok()) return s;
  }

  absl::StatusOr<ServerConfig> config = ReadFlags();
  if (!config.ok()) return config.status();
  invocation.config = *std::move(config);
  return invocation;
}

std::string UsageText() {
  std::string out =
      "Usage: token-server [serve|migrate|keygen|help] [--flag=value ...]\n"
      "  serve    (default) run the gRPC and HTTP servers\n"
      "  migrate  apply pending database migrations and exit\n"
      "  keygen   write a new signing key into --key-dir and exit\n\n"
      "Flags (each also read from the environment variable shown; the command line wins):\n";
  for (absl::string_view name : kFlagNames) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    absl::StrAppend(&out, "  --", DashedName(name), " (", EnvName(name), ", default \"",
                    flag->DefaultValue(), "\")\n      ", flag->Help(), "\n");
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
