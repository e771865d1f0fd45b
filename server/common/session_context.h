// TokenContext and SessionMetadata: what a session carries besides its
// subject, roles and audience (proto/token/v1/token.proto, IssueTokensRequest
// fields 5–10). Plain data shared by the store (persists it), the JWT signer
// and verifier (write and read it as claims) and the session core (validates
// it: server/session/context_validation.h).
#ifndef TOKEN_SERVER_COMMON_SESSION_CONTEXT_H_
#define TOKEN_SERVER_COMMON_SESSION_CONTEXT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace token {

// TokenContext: copied into every access token of the session.
struct TokenContext {
  // claims: the custom claims as a compact JSON object ("{}" when none), in
  // the canonical form CanonicalClaims produces (keys sorted, integers without
  // a fraction). Its members become top-level members of the JWT payload.
  std::string claims = "{}";
  // scopes: the `scope` claim, split; no duplicates, order kept.
  std::vector<std::string> scopes;
  // auth_time: the `auth_time` claim, whole seconds; unset when not given.
  std::optional<absl::Time> auth_time;
  // amr: the `amr` claim; no duplicates, order kept.
  std::vector<std::string> amr;
  // acr: the `acr` claim; empty when not given.
  std::string acr;

  friend bool operator==(const TokenContext&, const TokenContext&) = default;
};

// SessionMetadata: kept with the session, returned by ListSessions, never put
// in a token.
using SessionMetadata = std::map<std::string, std::string>;

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_SESSION_CONTEXT_H_
