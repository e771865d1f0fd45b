// Fuzz target refresh_token_parse: ParseRefreshToken on arbitrary bytes, as
// RefreshTokens receives them. Goes through the public functions only, so it
// follows the wire format wherever refresh_token.h takes it.
// Invariants: an accepted token formats back to exactly the input (one
// spelling per token); deriving its successors and hashes works; successors
// are authentic under the chain key, and an authentic token with a changed
// tag is not. The seeds "valid" and "successor" were issued under that key.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "server/session/refresh_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token;
  using namespace token::fuzz;
  // A fixed, public chain key: only the shape of the derivation matters here.
  static const RefreshSecretChain chain(std::string(32, 'k'));

  const absl::string_view text = AsText(data, size);
  const std::optional<RefreshToken> parsed = ParseRefreshToken(text);
  if (!parsed.has_value()) return 0;
  FUZZ_CHECK(text.size() == kRefreshTokenLength);
  FUZZ_CHECK(parsed->secret.size() == kRefreshTokenSecretBytes);
  FUZZ_CHECK(FormatRefreshToken(*parsed) == text);

  const std::vector<std::string> hashes = chain.CandidateHashes(*parsed, 2);
  FUZZ_CHECK(hashes.size() == 3);
  FUZZ_CHECK(hashes[0] == RefreshSecretChain::StoredHash(*parsed));
  const RefreshToken next = chain.Successor(*parsed);
  FUZZ_CHECK(next.session_id == parsed->session_id);
  FUZZ_CHECK(hashes[1] == RefreshSecretChain::StoredHash(next));
  // The successor is itself a well-formed token, and one this key issued.
  const std::optional<RefreshToken> reparsed = ParseRefreshToken(FormatRefreshToken(next));
  FUZZ_CHECK(reparsed.has_value() && reparsed->secret == next.secret);
  FUZZ_CHECK(chain.IsAuthentic(*reparsed));
  // Any change to an authentic token's tag makes it a forgery.
  if (chain.IsAuthentic(*parsed) && !parsed->tag.empty()) {
    RefreshToken forged = *parsed;
    forged.tag[size % forged.tag.size()] ^= 0x01;
    FUZZ_CHECK(!chain.IsAuthentic(forged));
  }
  return 0;
}
