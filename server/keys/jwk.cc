#include "server/keys/jwk.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "server/common/base64url.h"

namespace token {

std::string RsaJwkThumbprint(absl::string_view n_b64url, absl::string_view e_b64url) {
  // Members in lexicographic order of their names (RFC 7638 section 3.2).
  const std::string canonical =
      absl::StrCat(R"({"e":")", e_b64url, R"(","kty":"RSA","n":")", n_b64url, R"("})");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &digest_len, EVP_sha256(), nullptr) !=
      1) {
    // SHA-256 cannot fail short of a broken library; a wrong kid would be worse.
    std::abort();
  }
  return Base64UrlEncode(absl::string_view(reinterpret_cast<const char*>(digest), digest_len));
}

nlohmann::json RsaPublicJwk(absl::string_view kid, absl::string_view n_b64url,
                            absl::string_view e_b64url) {
  return nlohmann::json{
      {"kty", "RSA"},
      {"use", "sig"},
      {"alg", "RS256"},
      {"kid", std::string(kid)},
      {"n", std::string(n_b64url)},
      {"e", std::string(e_b64url)},
  };
}

}  // namespace token
