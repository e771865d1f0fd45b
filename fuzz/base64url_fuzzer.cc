// Fuzz target base64url: the strict decoder every token parser starts with.
// Invariants, for any bytes x:
//   * Base64UrlDecode(Base64UrlEncode(x)) == x, and the encoding uses only
//     the URL-safe alphabet, unpadded, ceil(4n/3) characters;
//   * if Base64UrlDecode(x) succeeds, Base64UrlEncode of the result is x
//     again (exactly one accepted spelling per value).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/fuzz_support.h"
#include "server/common/base64url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token;
  using namespace token::fuzz;
  const absl::string_view input = AsText(data, size);

  const std::string encoded = Base64UrlEncode(input);
  FUZZ_CHECK(encoded.size() == (input.size() * 4 + 2) / 3);
  for (const char c : encoded) {
    FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_');
  }
  const std::optional<std::string> round_trip = Base64UrlDecode(encoded);
  FUZZ_CHECK(round_trip.has_value() && *round_trip == input);

  const std::optional<std::string> decoded = Base64UrlDecode(input);
  if (decoded.has_value()) {
    FUZZ_CHECK(input.size() % 4 != 1);
    FUZZ_CHECK(Base64UrlEncode(*decoded) == input);
  }
  return 0;
}
