#include "server/keys/jwks.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace token {
namespace {

// Members that only private or symmetric JWKs carry (RFC 7518 section 6).
constexpr const char* kPrivateMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

// OptionalString reads member `name`: absent is ok (`*out` stays null), a
// string is returned through `out`, anything else is an error.
bool OptionalString(const nlohmann::json& object, const char* name, const std::string** out) {
  *out = nullptr;
  const auto it = object.find(name);
  if (it == object.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get_ptr<const std::string*>();
  return true;
}

absl::Status KeyError(size_t index, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("JWKS key ", index, ": ", message));
}

}  // namespace

absl::StatusOr<std::vector<RsaKeyPtr>> ParseJwks(absl::string_view json) {
  if (json.size() > kMaxJwksBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWKS is larger than ", kMaxJwksBytes, " bytes"));
  }
  const nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("JWKS is not a JSON object");
  }
  const auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  if (keys->size() > kMaxJwksKeys) {
    return absl::InvalidArgumentError(absl::StrCat("JWKS has more than ", kMaxJwksKeys, " keys"));
  }
  // Private material anywhere rejects the document before any key is used.
  for (size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& jwk = (*keys)[i];
    if (!jwk.is_object()) return KeyError(i, "not a JSON object");
    for (const char* member : kPrivateMembers) {
      if (jwk.contains(member)) return KeyError(i, "carries private key material");
    }
  }

  std::vector<RsaKeyPtr> out;
  for (size_t i = 0; i < keys->size(); ++i) {
    const nlohmann::json& jwk = (*keys)[i];
    const std::string* kty = nullptr;
    const std::string* use = nullptr;
    const std::string* alg = nullptr;
    if (!OptionalString(jwk, "kty", &kty) || kty == nullptr) {
      return KeyError(i, "\"kty\" must be a string");
    }
    if (!OptionalString(jwk, "use", &use) || !OptionalString(jwk, "alg", &alg)) {
      return KeyError(i, "\"use\" and \"alg\" must be strings");
    }
    if (*kty != "RSA" || (use != nullptr && *use != "sig") || (alg != nullptr && *alg != "RS256")) {
      continue;  // Cannot verify an RS256 token; not ours to judge.
    }
    const std::string* n = nullptr;
    const std::string* e = nullptr;
    const std::string* kid = nullptr;
    if (!OptionalString(jwk, "n", &n) || !OptionalString(jwk, "e", &e) ||
        !OptionalString(jwk, "kid", &kid) || n == nullptr || e == nullptr || kid == nullptr) {
      return KeyError(i, "\"n\", \"e\" and \"kid\" must be strings");
    }
    absl::StatusOr<RsaKeyPtr> key = RsaKey::FromPublicJwk(*n, *e);
    if (!key.ok()) return KeyError(i, key.status().message());
    if ((*key)->kid() != *kid) return KeyError(i, "\"kid\" is not the key's RFC 7638 thumbprint");
    for (const RsaKeyPtr& earlier : out) {
      if (earlier->kid() == *kid) return KeyError(i, "duplicate \"kid\"");
    }
    out.push_back(*std::move(key));
  }
  if (out.empty()) return absl::NotFoundError("JWKS holds no RS256 signature key");
  return out;
}

}  // namespace token
