#include "server/common/random.h"

#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace token {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

Uuid NewUuidV4() {
  const std::string bytes = RandomBytes(16);
  Uuid id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(bytes[i]);
  id[6] = (id[6] & 0x0f) | 0x40;  // Version 4.
  id[8] = (id[8] & 0x3f) | 0x80;  // RFC 4122 variant.
  return id;
}

std::string UuidToString(const Uuid& id) {
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::optional<Uuid> ParseUuid(absl::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string hex;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    hex.push_back(text[i]);
  }
  const std::string bytes = absl::HexStringToBytes(hex);
  Uuid id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(bytes[i]);
  return id;
}

}  // namespace token
