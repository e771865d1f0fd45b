#include "server/session/context_validation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/jwt/claims.h"
#include "server/session/request_validation.h"

namespace token {
namespace {

// Largest magnitude up to which every integer is exactly a double.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

absl::Status BadClaims(absl::string_view message) {
  return MakeError(ErrorReason::INVALID_CLAIMS, message);
}

// CheckText: `min_bytes`–`max_bytes` bytes of printable UTF-8.
absl::Status CheckText(absl::string_view text, absl::string_view field, size_t min_bytes,
                       size_t max_bytes, ErrorReason reason) {
  if (text.size() < min_bytes || text.size() > max_bytes) {
    return MakeError(reason,
                     min_bytes > 0
                         ? absl::StrCat(field, " must be ", min_bytes, "–", max_bytes, " bytes")
                         : absl::StrCat(field, " must be at most ", max_bytes, " bytes"));
  }
  if (!IsPrintableUtf8(text)) {
    return MakeError(reason, absl::StrCat(field, " must be UTF-8 text without control characters"));
  }
  return absl::OkStatus();
}

// MemberPath extends a field path by a member name that already passed the
// name rules; names with control characters are escaped so that a message
// stays one printable line.
std::string MemberPath(absl::string_view path, absl::string_view name) {
  return IsPrintableUtf8(name) ? absl::StrCat(path, ".", name)
                               : absl::StrCat(path, ".", absl::CHexEscape(name));
}

// Canonicalize copies `in` (at field `path`, nesting level `depth` when it is
// an object or array) into `out`, checking the rules of CanonicalClaims and
// turning integral doubles into integers.
absl::Status Canonicalize(const nlohmann::json& in, const std::string& path, size_t depth,
                          nlohmann::json& out) {
  switch (in.type()) {
    case nlohmann::json::value_t::object:
    case nlohmann::json::value_t::array:
      break;
    case nlohmann::json::value_t::string:
      if (!IsValidUtf8(in.get_ref<const std::string&>())) {
        return BadClaims(absl::StrCat(path, ": strings must be valid UTF-8"));
      }
      out = in;
      return absl::OkStatus();
    case nlohmann::json::value_t::number_float: {
      const double value = in.get<double>();
      if (!std::isfinite(value)) {
        return BadClaims(absl::StrCat(path, ": numbers must be finite"));
      }
      if (std::trunc(value) == value && std::fabs(value) <= kMaxExactInteger) {
        out = static_cast<int64_t>(value);
      } else {
        out = value;
      }
      return absl::OkStatus();
    }
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::boolean:
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      out = in;
      return absl::OkStatus();
    default:  // Binary and discarded values have no JSON text.
      return BadClaims(absl::StrCat(path, ": unsupported value"));
  }
  if (depth > kMaxClaimsDepth) {
    return BadClaims(absl::StrCat(path, ": nesting deeper than ", kMaxClaimsDepth, " levels"));
  }
  if (in.is_array()) {
    out = nlohmann::json::array();
    for (size_t i = 0; i < in.size(); ++i) {
      nlohmann::json element;
      if (absl::Status s = Canonicalize(in[i], absl::StrCat(path, "[", i, "]"), depth + 1, element);
          !s.ok()) {
        return s;
      }
      out.push_back(std::move(element));
    }
    return absl::OkStatus();
  }
  out = nlohmann::json::object();
  for (auto it = in.begin(); it != in.end(); ++it) {
    const std::string& name = it.key();
    if (name.empty() || name.size() > kMaxClaimNameBytes || !IsValidUtf8(name)) {
      return BadClaims(absl::StrCat(path, ": member names must be 1–", kMaxClaimNameBytes,
                                    " bytes of valid UTF-8"));
    }
    if (depth == 1 && IsReservedClaimName(name)) {
      return BadClaims(absl::StrCat(path, ".", name, ": reserved claim name"));
    }
    nlohmann::json value;
    if (absl::Status s = Canonicalize(*it, MemberPath(path, name), depth + 1, value); !s.ok()) {
      return s;
    }
    out.emplace(name, std::move(value));
  }
  return absl::OkStatus();
}

bool IsScopeChar(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

}  // namespace

absl::StatusOr<std::string> CanonicalClaims(const nlohmann::json& claims,
                                            const ContextLimits& limits) {
  if (!claims.is_object()) return BadClaims("claims must be a JSON object");
  nlohmann::json canonical;
  if (absl::Status s = Canonicalize(claims, "claims", 1, canonical); !s.ok()) return s;
  std::string text;
  try {
    text = canonical.dump();
  } catch (const nlohmann::json::exception&) {
    // Unreachable: Canonicalize checked every string.
    return BadClaims("claims must be valid UTF-8");
  }
  if (text.size() > limits.max_claims_bytes) {
    return BadClaims(
        absl::StrCat("claims must be at most ", limits.max_claims_bytes, " bytes as compact JSON"));
  }
  return text;
}

absl::StatusOr<std::vector<std::string>> NormalizeScopes(const std::vector<std::string>& scopes,
                                                         ErrorReason reason,
                                                         absl::string_view field) {
  if (scopes.size() > kMaxScopes) {
    return MakeError(reason, absl::StrCat(field, ": at most ", kMaxScopes, " scopes are allowed"));
  }
  std::vector<std::string> out;
  out.reserve(scopes.size());
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < scopes.size(); ++i) {
    const std::string& scope = scopes[i];
    if (scope.empty() || scope.size() > kMaxScopeBytes) {
      return MakeError(reason,
                       absl::StrCat(field, "[", i, "] must be 1–", kMaxScopeBytes, " bytes"));
    }
    for (const char c : scope) {
      if (!IsScopeChar(static_cast<unsigned char>(c))) {
        return MakeError(reason, absl::StrCat(field, "[", i,
                                              "] must be printable ASCII without space, '\"' "
                                              "or '\\' (RFC 6749 scope-token)"));
      }
    }
    if (seen.insert(scope).second) out.push_back(scope);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> NormalizeAmr(const std::vector<std::string>& amr) {
  if (amr.size() > kMaxAmrValues) {
    return BadClaims(absl::StrCat("amr: at most ", kMaxAmrValues, " values are allowed"));
  }
  std::vector<std::string> out;
  out.reserve(amr.size());
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < amr.size(); ++i) {
    if (absl::Status s = CheckText(amr[i], absl::StrCat("amr[", i, "]"), 1, kMaxAmrBytes,
                                   ErrorReason::INVALID_CLAIMS);
        !s.ok()) {
      return s;
    }
    if (seen.insert(amr[i]).second) out.push_back(amr[i]);
  }
  return out;
}

absl::Status ValidateAcr(absl::string_view acr, ErrorReason reason, absl::string_view field) {
  return CheckText(acr, field, 0, kMaxAcrBytes, reason);
}

absl::StatusOr<std::optional<absl::Time>> NormalizeAuthTime(std::optional<absl::Time> auth_time,
                                                            absl::Time now, absl::Duration skew) {
  if (!auth_time.has_value()) return std::nullopt;
  if (*auth_time < absl::UnixEpoch()) {
    return BadClaims("auth_time must not be before 1970-01-01T00:00:00Z");
  }
  if (*auth_time > now + std::max(skew, absl::ZeroDuration())) {
    return BadClaims("auth_time must not be in the future");
  }
  return absl::FromUnixSeconds(absl::ToUnixSeconds(*auth_time));
}

absl::Status ValidateMetadata(const SessionMetadata& metadata) {
  if (metadata.size() > kMaxMetadataKeys) {
    return BadClaims(absl::StrCat("metadata: at most ", kMaxMetadataKeys, " keys are allowed"));
  }
  for (const auto& [key, value] : metadata) {
    if (absl::Status s =
            CheckText(key, "metadata key", 1, kMaxMetadataKeyBytes, ErrorReason::INVALID_CLAIMS);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckText(value, absl::StrCat("metadata.", key), 0, kMaxMetadataValueBytes,
                                   ErrorReason::INVALID_CLAIMS);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace token
