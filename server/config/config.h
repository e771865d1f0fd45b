// ServerConfig: everything token-server can be told, from flags and TOKEN_*
// environment variables (README.md, "Configuration"). Parsing is strict: an unknown flag or
// a bad value is an error, reported to the operator as exit code 2.
#ifndef TOKEN_SERVER_CONFIG_CONFIG_H_
#define TOKEN_SERVER_CONFIG_CONFIG_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/config/flag_spec.h"

namespace token {

// ServerConfig: the values; their flags, defaults, bounds and help are
// ServerFlags(), the one table (server/config/config.cc).
struct ServerConfig {
  std::string grpc_listen;
  std::string http_listen;
  // libpq connection string; empty selects the embedded development database.
  std::string database_url;
  std::string key_dir;
  std::string issuer;
  std::string audience;
  absl::Duration access_ttl;
  absl::Duration refresh_idle_ttl;
  absl::Duration refresh_absolute_ttl;
  absl::Duration reuse_grace;
  absl::Duration clock_skew;
  // Largest tolerated offset of this replica's clock from the database's.
  absl::Duration max_clock_offset;
  // How long a new signing key is published before it signs (key rotation);
  // the JWKS may be cached for half of it.
  absl::Duration key_publish_period;
  bool migrate = {};
  // TLS: all empty = plaintext. tls_cert + tls_key = TLS on gRPC and HTTP;
  // + tls_client_ca = mTLS (client certificates required and verified);
  // + authz_policy = gRPC authorization policy per RPC (needs mTLS).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string authz_policy;
  // serve: accept plaintext on a non-loopback address (CheckPlaintextListen).
  bool insecure_plaintext = {};
  // serve: write a signing key and refresh-secret into key_dir when missing;
  // without it, missing key material is a start-up error.
  bool generate_keys = {};
  // How often the TLS files and the policy are checked for changes.
  absl::Duration tls_reload_interval;
  // Database connections, and worker threads that use them.
  int db_pool_size = {};
  // Calls that may wait for a worker before new ones get RESOURCE_EXHAUSTED.
  int max_pending_calls = {};
  // How long SIGTERM waits for in-flight calls.
  absl::Duration drain_timeout;
  // Input limits (proto/token/v1/token.proto). Subject and audience stay at the 255 bytes
  // the contract fixes.
  int max_roles = {};
  int max_role_bytes = {};
  int max_user_agent_bytes = {};
  int max_token_bytes = {};
  // Longest custom claims object of a session, compact JSON bytes.
  int max_claims_bytes = {};
  int max_message_bytes = {};
  int max_concurrent_streams = {};
  // Failed refreshes a session or client address may make per window.
  int refresh_failure_limit = {};
  absl::Duration refresh_failure_window;
  // keygen only: RSA modulus size.
  int key_bits = {};
};

enum class Command { kServe, kMigrate, kKeygen, kHelp };

struct Invocation {
  Command command = Command::kServe;
  ServerConfig config;
};

// EnvLookup returns the value of an environment variable, or nullopt.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// ParseInvocation reads `args` (argv without argv[0]) over the environment:
// defaults < TOKEN_* variables < command line. Flags are spelled with dashes
// (--grpc-listen=host:port or --grpc-listen host:port); booleans also as
// --migrate / --nomigrate. The first bare word is the command: migrate, keygen
// or help; none means serve.
absl::StatusOr<Invocation> ParseInvocation(const std::vector<std::string>& args,
                                           const EnvLookup& env);

// IsLoopbackListen is true for a host:port whose host is localhost, [::1] or
// 127.x.x.x. 0.0.0.0 and [::] listen on every interface: not loopback.
bool IsLoopbackListen(absl::string_view listen);

// CheckPlaintextListen fails with INVALID_ARGUMENT (exit code 2) when serve
// would accept plaintext on a non-loopback gRPC or HTTP address, unless
// --insecure-plaintext is set: there every caller may call every RPC.
absl::Status CheckPlaintextListen(const ServerConfig& config);

// ServerFlags is every flag token-server accepts, in usage-text order.
const std::vector<FlagSpec>& ServerFlags();

// ProcessEnv looks variables up in this process's environment.
std::optional<std::string> ProcessEnv(const std::string& name);

// UsageText lists commands and flags with their defaults and variables.
std::string UsageText();

// EmbeddedDatabaseUrl is the libpq connection string of the development
// database that scripts/dev.sh runs under `data_dir` (a unix socket, no TCP).
std::string EmbeddedDatabaseUrl(const std::string& data_dir);

}  // namespace token

#endif  // TOKEN_SERVER_CONFIG_CONFIG_H_
