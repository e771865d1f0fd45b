// tokenctl's command line: parsing it into an Invocation and running one.
// Dependencies (the client, HTTP, the clock) are injected so that tests run
// every command against a fake transport; main.cc passes the real ones.
//
// Usage:
//   absl::StatusOr<Invocation> inv = ParseCommandLine(args, getenv_fn);
//   int exit_code = Run(*inv, RealDependencies(), std::cin, std::cout, std::cerr);
#ifndef TOKEN_CLIENT_TOKENCTL_CLI_H_
#define TOKEN_CLIENT_TOKENCTL_CLI_H_

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/cpp/token_client.h"

namespace token::tokenctl {

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";
inline constexpr char kDefaultJwksUrl[] = "http://127.0.0.1:8080/.well-known/jwks.json";

// Invocation: a parsed command line.
struct Invocation {
  // command: "issue", "refresh", ...; empty with help and no command.
  std::string command{};
  // args: positional arguments after the command.
  std::vector<std::string> args{};
  // flags: the command's own flags, by name without "--"; repeated flags keep
  // every value in order; boolean flags hold "true". Defaults (including
  // those from the environment) are filled in.
  std::map<std::string, std::vector<std::string>> flags{};
  std::string server = kDefaultServer;
  absl::Duration timeout = absl::Seconds(10);
  bool json = false;
  bool help = false;

  // Flag returns the last value of `name`, or "" when unset.
  std::string Flag(const std::string& name) const;
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

// GetEnv looks up an environment variable; nullopt when unset.
using GetEnv = std::function<std::optional<std::string>(const std::string& name)>;

// ParseCommandLine parses `args` (argv without the program name). Flags are
// "--name=value" or "--name value" and may come before or after the command;
// "--" ends the flags. Environment defaults: TOKEN_SERVER (--server),
// TOKEN_JWKS_URL (--jwks-url).
// Fails with INVALID_ARGUMENT and a message for people on any usage error.
absl::StatusOr<Invocation> ParseCommandLine(const std::vector<std::string>& args,
                                            const GetEnv& getenv);

// UsageText is what `tokenctl --help` prints, exit codes included.
std::string UsageText();

// HttpResponse: what the jwks command needs from an HTTP GET. status 0 means
// no response (connection failed; `error` says why).
struct HttpResponse {
  int status = 0;
  std::string body{};
  std::string cache_control{};
  std::string etag{};
  std::string error{};
};

struct Dependencies {
  // connect returns a client for `server` whose calls default to `timeout`.
  std::function<client::TokenClientPtr(const std::string& server, absl::Duration timeout)> connect;
  // http_get fetches an http:// URL.
  std::function<HttpResponse(const std::string& url, absl::Duration timeout)> http_get;
  std::function<absl::Time()> now;
};

// RealDependencies: gRPC to the server, cpp-httplib for HTTP, the real clock.
Dependencies RealDependencies();

// Run executes `invocation` and returns the process exit code (see
// output.h). Results go to `out`; with --json exactly one JSON object is
// written to `out` whatever happens, and messages for people go to `err`.
// Tokens read as input (refresh, verify) are never echoed.
int Run(const Invocation& invocation, const Dependencies& deps, std::istream& in, std::ostream& out,
        std::ostream& err);

// Main parses and runs with the real dependencies; main() calls it.
int Main(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
         std::ostream& err);

}  // namespace token::tokenctl

#endif  // TOKEN_CLIENT_TOKENCTL_CLI_H_
