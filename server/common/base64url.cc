#include "server/common/base64url.h"

#include "absl/strings/escaping.h"

namespace token {

std::string Base64UrlEncode(absl::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(data, &out);  // Unpadded.
  return out;
}

std::optional<std::string> Base64UrlDecode(absl::string_view encoded) {
  for (char c : encoded) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(encoded, &out)) return std::nullopt;
  // Abseil accepts non-zero trailing bits; re-encoding rejects them, so every
  // value has exactly one accepted spelling.
  if (Base64UrlEncode(out) != encoded) return std::nullopt;
  return out;
}

}  // namespace token
