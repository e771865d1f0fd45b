#include "server/jwt/verifier.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/common/error_reason.h"
#include "server/common/openssl_ptr.h"
#include "server/jwt/signer.h"

namespace token {
namespace {

// NumericDate bounds: 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinUnixSeconds = 0;
constexpr int64_t kMaxUnixSeconds = 253402300799;

absl::Status Malformed(absl::string_view message) {
  return MakeError(ErrorReason::TOKEN_MALFORMED, message);
}

absl::Status BadSignature(absl::string_view message) {
  return MakeError(ErrorReason::TOKEN_SIGNATURE_INVALID, message);
}

// ParseObject parses `text` as a JSON object without throwing.
std::optional<nlohmann::json> ParseObject(const std::string& text) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// StringMember returns the string member `name` of `object`, or nullptr when
// it is missing or not a string.
const std::string* StringMember(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

enum class Rounding { kDown, kUp };

// TimeMember reads the NumericDate member `name`; fractions round as asked.
std::optional<absl::Time> TimeMember(const nlohmann::json& object, const char* name,
                                     Rounding rounding) {
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  int64_t seconds = 0;
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(kMaxUnixSeconds)) return std::nullopt;
    seconds = static_cast<int64_t>(value);
  } else if (it->is_number_integer()) {
    seconds = it->get<int64_t>();
  } else if (it->is_number_float()) {
    double value = it->get<double>();
    if (!std::isfinite(value) || value < static_cast<double>(kMinUnixSeconds) ||
        value > static_cast<double>(kMaxUnixSeconds)) {
      return std::nullopt;
    }
    value = rounding == Rounding::kDown ? std::floor(value) : std::ceil(value);
    seconds = static_cast<int64_t>(value);
  } else {
    return std::nullopt;
  }
  if (seconds < kMinUnixSeconds || seconds > kMaxUnixSeconds) return std::nullopt;
  return absl::FromUnixSeconds(seconds);
}

// StringArrayMember reads the member `name` as an array of strings.
bool StringArrayMember(const nlohmann::json& object, const char* name,
                       std::vector<std::string>* out) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_array()) return false;
  out->clear();
  out->reserve(it->size());
  for (const nlohmann::json& element : *it) {
    if (!element.is_string()) return false;
    out->push_back(element.get<std::string>());
  }
  return true;
}

// ReadContext reads the optional step-up and scope claims into `context`;
// false when one is present but mistyped. Absent ones leave it empty, so
// tokens from before these claims existed verify with an empty context.
bool ReadContext(const nlohmann::json& payload, TokenContext* context) {
  if (const auto scope = payload.find("scope"); scope != payload.end()) {
    if (!scope->is_string()) return false;
    context->scopes = absl::StrSplit(scope->get_ref<const std::string&>(), ' ', absl::SkipEmpty());
  }
  if (payload.contains("auth_time")) {
    // Fractions round down: an older auth_time never passes a max_auth_age
    // check that the true time would fail.
    context->auth_time = TimeMember(payload, "auth_time", Rounding::kDown);
    if (!context->auth_time) return false;
  }
  if (payload.contains("amr") && !StringArrayMember(payload, "amr", &context->amr)) return false;
  if (const auto acr = payload.find("acr"); acr != payload.end()) {
    if (!acr->is_string()) return false;
    context->acr = acr->get<std::string>();
  }
  return true;
}

// CustomClaims returns the members of `payload` whose names are not reserved,
// as canonical JSON object text ("{}" when there are none). Moves them out
// of `payload` rather than copying.
std::optional<std::string> CustomClaims(nlohmann::json& payload) {
  nlohmann::json custom = nlohmann::json::object();
  for (auto it = payload.begin(); it != payload.end(); ++it) {
    if (!IsReservedClaimName(it.key())) custom.emplace(it.key(), std::move(it.value()));
  }
  if (custom.empty()) return "{}";
  try {
    return custom.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // Not UTF-8; the parser should already refuse it.
  }
}

bool TypAccepted(const nlohmann::json& header) {
  const auto it = header.find("typ");
  if (it == header.end()) return true;
  if (!it->is_string()) return false;
  const std::string& typ = it->get_ref<const std::string&>();
  return absl::EqualsIgnoreCase(typ, "at+jwt") || absl::EqualsIgnoreCase(typ, "application/at+jwt");
}

bool Rs256Verify(absl::string_view signing_input, absl::string_view signature, const RsaKey& key) {
  const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, Rs256Digest(), nullptr, key.pkey()) == 1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  // A failed verification queues an OpenSSL error on this thread; drop it.
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

absl::StatusOr<AccessClaims> VerifyAccessToken(absl::string_view token, const KeySet& keys,
                                               const VerifyOptions& options, absl::Time now) {
  // Shape: three base64url segments whose first two are JSON objects.
  if (token.empty()) return Malformed("token is empty");
  if (token.size() > options.max_token_bytes) return Malformed("token is too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == absl::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos || token.find('.', dot2 + 1) != absl::string_view::npos) {
    return Malformed("token must have three segments");
  }
  const std::optional<std::string> header_text = Base64UrlDecode(token.substr(0, dot1));
  const std::optional<std::string> payload_text =
      Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const std::optional<std::string> signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) {
    return Malformed("token is not valid base64url");
  }
  const std::optional<nlohmann::json> header = ParseObject(*header_text);
  if (!header) return Malformed("token header is not a JSON object");
  std::optional<nlohmann::json> payload = ParseObject(*payload_text);
  if (!payload) return Malformed("token payload is not a JSON object");
  if (!TypAccepted(*header)) return Malformed("token type is not at+jwt");
  if (header->contains("crit")) return Malformed("token has unsupported critical headers");

  // Signature: only RS256 under a key we publish.
  const std::string* alg = StringMember(*header, "alg");
  if (alg == nullptr || *alg != "RS256") return BadSignature("token algorithm is not RS256");
  const std::string* kid = StringMember(*header, "kid");
  const RsaKey* key = kid == nullptr ? nullptr : keys.FindByKid(*kid);
  if (key == nullptr) return BadSignature("token key id is unknown");
  if (signature->size() != static_cast<size_t>(key->signature_size())) {
    return BadSignature("token signature has the wrong length");
  }
  if (!Rs256Verify(token.substr(0, dot2), *signature, *key)) {
    return BadSignature("token signature is invalid");
  }

  // Claims: all present and well typed.
  AccessClaims claims;
  const std::string* iss = StringMember(*payload, "iss");
  const std::string* sub = StringMember(*payload, "sub");
  const std::string* jti = StringMember(*payload, "jti");
  const std::string* sid = StringMember(*payload, "sid");
  const std::optional<absl::Time> iat = TimeMember(*payload, "iat", Rounding::kDown);
  const std::optional<absl::Time> nbf = TimeMember(*payload, "nbf", Rounding::kUp);
  const std::optional<absl::Time> exp = TimeMember(*payload, "exp", Rounding::kDown);
  if (iss == nullptr || sub == nullptr || jti == nullptr || sid == nullptr || !iat || !nbf ||
      !exp || !StringArrayMember(*payload, "roles", &claims.roles) ||
      !ReadContext(*payload, &claims.context)) {
    return Malformed("token lacks a required claim or has a mistyped one");
  }
  const auto aud = payload->find("aud");
  bool audience_matches = false;
  if (aud == payload->end()) return Malformed("token lacks a required claim or has a mistyped one");
  if (aud->is_string()) {
    claims.audience = aud->get<std::string>();
    audience_matches = claims.audience == options.audience;
  } else if (aud->is_array()) {
    for (const nlohmann::json& element : *aud) {
      if (!element.is_string()) {
        return Malformed("token lacks a required claim or has a mistyped one");
      }
      audience_matches =
          audience_matches || element.get_ref<const std::string&>() == options.audience;
    }
    if (audience_matches) claims.audience = options.audience;
  } else {
    return Malformed("token lacks a required claim or has a mistyped one");
  }
  audience_matches = audience_matches && !options.audience.empty();

  // Meaning: ours, in its validity window, for this audience.
  if (options.issuer.empty() || *iss != options.issuer) {
    return MakeError(ErrorReason::TOKEN_ISSUER_MISMATCH, "token issuer is not accepted");
  }
  const absl::Duration skew = std::max(options.clock_skew, absl::ZeroDuration());
  if (now >= *exp + skew) return MakeError(ErrorReason::TOKEN_EXPIRED, "token has expired");
  // TOKEN_EXPIRED, not MALFORMED: the token is well formed and ours, but past
  // iat + the TTL we grant today, and the client's remedy is the same as for
  // expiry (refresh). No skew: exp and iat come from one clock, and allowing
  // any would let a token outlive its revocation by that much.
  if (*exp - *iat > options.max_lifetime) {
    return MakeError(ErrorReason::TOKEN_EXPIRED, "token lifetime exceeds the access-token TTL");
  }
  if (*nbf > now + skew) {
    return MakeError(ErrorReason::TOKEN_NOT_YET_VALID, "token is not yet valid");
  }
  if (!audience_matches) {
    return MakeError(ErrorReason::TOKEN_AUDIENCE_MISMATCH, "token audience is not accepted");
  }

  claims.issuer = *iss;
  claims.subject = *sub;
  claims.token_id = *jti;
  claims.session_id = *sid;
  claims.issued_at = *iat;
  claims.not_before = *nbf;
  claims.expires_at = *exp;
  std::optional<std::string> custom = CustomClaims(*payload);
  if (!custom) return Malformed("token has a claim that is not UTF-8");
  claims.context.claims = *std::move(custom);
  return claims;
}

}  // namespace token
