// Refresh tokens: format, parsing, and the derivation chain that lets the
// service recognise earlier generations and reproduce a successor without
// storing any token (design: docs/REFRESH_TOKENS.md).
//
// Wire form: "tsr1_" + base64url(session id (16) ‖ secret (32) ‖ tag (16)).
// Generation 0's secret comes from the CSPRNG; each successor's secret is
// HMAC-SHA-256(server refresh key, label ‖ session id ‖ parent secret). The
// tag is a truncated HMAC over session id and secret under the same key, so a
// token we did not issue is refused without touching the database. The
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
inline constexpr size_t kRefreshTokenTagBytes = 16;
// Length of a well-formed token; other lengths are rejected before any work.
inline constexpr size_t kRefreshTokenLength = 5 + 86;

struct RefreshToken {
  Uuid session_id;
  std::string secret;  // kRefreshTokenSecretBytes raw bytes.
  std::string tag;     // kRefreshTokenTagBytes raw bytes; set by RefreshSecretChain.
};

// FormatRefreshToken returns the wire form of `token`.
// REQUIRES: token comes from RefreshSecretChain (secret and tag sized).
std::string FormatRefreshToken(const RefreshToken& token);

// ParseRefreshToken returns nullopt unless `text` is exactly the wire form.
// NOTE: checks shape only; RefreshSecretChain::IsAuthentic checks the tag,
// and whether the token is current is the store's decision.
std::optional<RefreshToken> ParseRefreshToken(absl::string_view text);

// RefreshSecretChain derives successors and the hashes the database keeps.
// Thread-safe; holds the server's refresh key.
class RefreshSecretChain {
 public:
  // REQUIRES: key is at least 32 bytes of secret randomness.
  explicit RefreshSecretChain(std::string key);
  ~RefreshSecretChain();

  // NewToken starts a family: a fresh CSPRNG secret for `session_id`.
  RefreshToken NewToken(const Uuid& session_id) const;

  // Successor returns the token that rotation of `token` hands out.
  RefreshToken Successor(const RefreshToken& token) const;

  // IsAuthentic is true when `token`'s tag is the one this key gives it
  // (compared in constant time): the token was issued by this service.
  bool IsAuthentic(const RefreshToken& token) const;

  // StoredHash returns what the database keeps for `token`: SHA-256 of its secret.
  static std::string StoredHash(const RefreshToken& token);

  // CandidateHashes returns StoredHash of `token` and of its first `depth`
  // successors, in order: the store matches them against the current hash.
  std::vector<std::string> CandidateHashes(const RefreshToken& token, int depth) const;

 private:
  std::string Tag(const Uuid& session_id, absl::string_view secret) const;

  std::string key_;
};

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_REFRESH_TOKEN_H_
