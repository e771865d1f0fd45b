#include "server/jwt/signer.h"

#include <openssl/err.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/openssl_ptr.h"

namespace token {

const EVP_MD* Rs256Digest() {
  // Fetched once and kept for the life of the process (never freed).
  static const EVP_MD* const kSha256 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md != nullptr ? md : EVP_sha256();
  }();
  return kSha256;
}

absl::StatusOr<std::string> Rs256SignRaw(absl::string_view signing_input, const RsaKey& key) {
  if (!key.has_private_key()) {
    return absl::FailedPreconditionError("RS256 signing needs a private key");
  }
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(static_cast<size_t>(key.signature_size()), '\0');
  size_t signature_len = signature.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, Rs256Digest(), nullptr, key.pkey()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &signature_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RS256 signing failed");
  }
  signature.resize(signature_len);
  return signature;
}

absl::StatusOr<std::string> SignAccessToken(const AccessClaims& claims, const RsaKey& key) {
  // The kid is base64url, so it needs no JSON escaping.
  const std::string header =
      absl::StrCat(R"({"alg":"RS256","typ":"at+jwt","kid":")", key.kid(), "\"}");
  const TokenContext& context = claims.context;
  nlohmann::ordered_json payload = {
      {"iss", claims.issuer},
      {"sub", claims.subject},
      {"aud", claims.audience},
      {"iat", absl::ToUnixSeconds(claims.issued_at)},
      {"nbf", absl::ToUnixSeconds(claims.not_before)},
      {"exp", absl::ToUnixSeconds(claims.expires_at)},
      {"jti", claims.token_id},
      {"sid", claims.session_id},
      {"roles", claims.roles},
  };
  if (!context.scopes.empty()) payload["scope"] = absl::StrJoin(context.scopes, " ");
  if (context.auth_time.has_value()) payload["auth_time"] = absl::ToUnixSeconds(*context.auth_time);
  if (!context.amr.empty()) payload["amr"] = context.amr;
  if (!context.acr.empty()) payload["acr"] = context.acr;
  std::string payload_json;
  try {
    // dump() throws only for strings that are not UTF-8.
    payload_json = payload.dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("token claims must be valid UTF-8");
  }
  // The custom claims are stored as canonical JSON object text, so their
  // members are spliced in as text instead of parsed again on every mint.
  // They go first: should an unvalidated reserved name slip through, the
  // service's own member comes later and wins under the last-member-wins rule
  // of this verifier and of common JSON parsers.
  const std::string& custom = context.claims;
  if (!custom.empty()) {
    if (custom.size() < 2 || custom.front() != '{' || custom.back() != '}') {
      return absl::InvalidArgumentError("custom claims must be a JSON object");
    }
    const absl::string_view members =
        absl::StripAsciiWhitespace(absl::string_view(custom).substr(1, custom.size() - 2));
    if (!members.empty()) {
      payload_json = absl::StrCat("{", members, ",", absl::string_view(payload_json).substr(1));
    }
  }
  std::string token = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload_json));
  auto signature = Rs256SignRaw(token, key);
  if (!signature.ok()) return signature.status();
  absl::StrAppend(&token, ".", Base64UrlEncode(*signature));
  return token;
}

}  // namespace token
