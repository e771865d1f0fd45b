// Refresh tokens: format, parsing, and the derivation chain that lets the
// service recognise earlier generations and reproduce a successor without
// storing any token (design: docs/REFRESH_TOKENS.md).
//
// Wire form: "tsr1_" + base64url(session id (16 bytes) ‖ secret (32 bytes)).
// Generation 0's secret comes from the CSPRNG; each successor's secret is
// HMAC-SHA-256(server refresh key, label ‖ session id ‖ parent secret). The
// database keeps only SHA-256 of the current secret.
#ifndef TOKEN_SERVER_SESSION_REFRESH_TOKEN_H_
#define TOKEN_SERVER_SESSION_REFRESH_TOKEN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/common/random.h"

namespace token {

// The recognisable prefix secret scanners can match on.
inline constexpr absl::string_view kRefreshTokenPrefix = "tsr1_";
inline constexpr size_t kRefreshTokenSecretBytes = 32;
// Length of a well-formed token; longer input is rejected before any work.
inline constexpr size_t kRefreshTokenLength = 5 + 64;

struct RefreshToken {
  Uuid session_id;
  std::string secret;  // kRefreshTokenSecretBytes raw bytes.
};

// FormatRefreshToken returns the wire form of `token`.
std::string FormatRefreshToken(const RefreshToken& token);

// ParseRefreshToken returns nullopt unless `text` is exactly the wire form.
// NOTE: checks shape only; whether we issued it is the store's decision.
std::optional<RefreshToken> ParseRefreshToken(absl::string_view text);

// RefreshSecretChain derives successors and the hashes the database keeps.
// Thread-safe; holds the server's refresh key.
class RefreshSecretChain {
 public:
  // REQUIRES: key is at least 32 bytes of secret randomness.
  explicit RefreshSecretChain(std::string key);
  ~RefreshSecretChain();

  // NewToken starts a family: a fresh CSPRNG secret for `session_id`.
  static RefreshToken NewToken(const Uuid& session_id);

  // Successor returns the token that rotation of `token` hands out.
  RefreshToken Successor(const RefreshToken& token) const;

  // StoredHash returns what the database keeps for `token`: SHA-256 of its secret.
  static std::string StoredHash(const RefreshToken& token);

  // CandidateHashes returns StoredHash of `token` and of its first `depth`
  // successors, in order: the store matches them against the current hash.
  std::vector<std::string> CandidateHashes(const RefreshToken& token, int depth) const;

 private:
  std::string key_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_REFRESH_TOKEN_H_
