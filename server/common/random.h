// Cryptographically secure randomness and the identifiers built from it.
#ifndef TOKEN_SERVER_COMMON_RANDOM_H_
#define TOKEN_SERVER_COMMON_RANDOM_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace token {

// RandomBytes returns `n` bytes from OpenSSL's CSPRNG. Aborts if the CSPRNG
// fails: continuing with weak randomness would be worse than crashing.
std::string RandomBytes(size_t n);

using Uuid = std::array<uint8_t, 16>;

// NewUuidV4 returns a random (version 4) UUID.
Uuid NewUuidV4();

// UuidToString formats `id` canonically: 8-4-4-4-12 lower-case hex digits.
std::string UuidToString(const Uuid& id);

// ParseUuid accepts only the canonical form (either case); nullopt otherwise.
std::optional<Uuid> ParseUuid(absl::string_view text);

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_RANDOM_H_
