// Base64url without padding (RFC 7515 section 2), strict on input.
#ifndef TOKEN_SERVER_COMMON_BASE64URL_H_
#define TOKEN_SERVER_COMMON_BASE64URL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace token {

// Base64UrlEncode encodes `data` as base64url with no padding.
std::string Base64UrlEncode(absl::string_view data);

// Base64UrlDecode decodes unpadded base64url. Returns nullopt for anything that
// Base64UrlEncode could not have produced: padding, whitespace, characters
// outside the URL-safe alphabet, a length of 1 mod 4, or non-zero trailing bits.
std::optional<std::string> Base64UrlDecode(absl::string_view encoded);

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_BASE64URL_H_
