// Output of tokenctl: each result as one JSON object (--json) or as text for
// people, and the exit code a failure maps to. Pure functions, no I/O.
#ifndef TOKEN_CLIENT_TOKENCTL_OUTPUT_H_
#define TOKEN_CLIENT_TOKENCTL_OUTPUT_H_

#include <string>

#include "absl/time/time.h"
#include "client/cpp/token_client.h"
#include "nlohmann/json.hpp"

namespace token::tokenctl {

// Exit codes, documented in `tokenctl --help`.
enum ExitCode : int {
  // The command did what it was asked.
  kExitOk = 0,
  // The command line was wrong: unknown command or flag, missing argument.
  kExitUsage = 1,
  // The service refused: the token or request is not acceptable
  // (UNAUTHENTICATED, INVALID_ARGUMENT, PERMISSION_DENIED, NOT_FOUND, ...).
  kExitRefused = 2,
  // The service could not be reached or did not answer in time
  // (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED): try again later.
  kExitUnavailable = 3,
  // Anything else: INTERNAL, an unexpected response, a local I/O failure.
  kExitOther = 4,
};

// ExitCodeFor maps a gRPC status code onto the exit codes above.
ExitCode ExitCodeFor(grpc::StatusCode code);

// Rfc3339 renders `t` as RFC 3339 in UTC with a "Z" ("2025-01-02T03:04:05Z").
std::string Rfc3339(absl::Time t);

// JSON forms. Field names follow the .proto; `claims` is the claims object
// itself, auth_time an RFC 3339 string or null.
nlohmann::json ToJson(const client::TokenPair& pair);
nlohmann::json ToJson(const client::AccessClaims& claims);
nlohmann::json ToJson(const client::SessionInfo& session);
nlohmann::json ToJson(const client::Error& error);
// ErrorJson: {"error": {"code": code, "reason": reason, "message": message}}
// for failures that did not come from the service (usage, local I/O).
nlohmann::json ErrorJson(const std::string& code, const std::string& message);

// Text forms, one "name: value" per line, ending in a newline.
std::string ToText(const client::TokenPair& pair);
std::string ToText(const client::AccessClaims& claims);
// ToText(SessionInfo): one session with its context and metadata (update-session).
std::string ToText(const client::SessionInfo& session);
// SessionsTable: one line per session with its state as of `now`.
std::string SessionsTable(const std::vector<client::SessionInfo>& sessions, absl::Time now);

// DumpJson serialises `value` on one line; invalid UTF-8 is replaced, never thrown.
std::string DumpJson(const nlohmann::json& value);

}  // namespace token::tokenctl

#endif  // TOKEN_CLIENT_TOKENCTL_OUTPUT_H_
