#include "server/session/request_validation.h"

#include <arpa/inet.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace token {
namespace {

// Decodes one UTF-8 sequence at text[i]; returns its code point and advances
// i, or -1 for a malformed sequence. Hand-written: the packaged libraries
// offer no public strict validator (protobuf's is internal).
int32_t DecodeUtf8(absl::string_view text, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  int length = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + length > text.size()) return -1;
  for (int k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += length;
  return cp;
}

}  // namespace

absl::Status ValidateText(absl::string_view text, absl::string_view field, size_t min_bytes,
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

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (DecodeUtf8(text, i) < 0) return false;
  }
  return true;
}

bool IsPrintableUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const int32_t cp = DecodeUtf8(text, i);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;  // Includes -1.
  }
  return true;
}

absl::Status ValidateSubject(absl::string_view subject) {
  return ValidateText(subject, "subject", 1, kMaxSubjectBytes, ErrorReason::INVALID_SUBJECT);
}

absl::Status ValidateAudience(absl::string_view audience, ErrorReason reason) {
  return ValidateText(audience, "audience", 1, kMaxAudienceBytes, reason);
}

absl::StatusOr<std::vector<std::string>> NormalizeRoles(const std::vector<std::string>& roles,
                                                        ErrorReason reason,
                                                        const RequestLimits& limits) {
  if (roles.size() > limits.max_roles) {
    return MakeError(reason, absl::StrCat("at most ", limits.max_roles, " roles are allowed"));
  }
  std::vector<std::string> out;
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& role : roles) {
    if (absl::Status s = ValidateText(role, "role", 1, limits.max_role_bytes, reason); !s.ok()) {
      return s;
    }
    if (seen.insert(role).second) out.push_back(role);
  }
  return out;
}

absl::Status ValidateClient(const ClientMetadata& client, ErrorReason reason,
                            const RequestLimits& limits) {
  if (absl::Status s = ValidateText(client.user_agent, "client.user_agent", 0,
                                    limits.max_user_agent_bytes, reason);
      !s.ok()) {
    return s;
  }
  if (client.ip_address.empty()) return absl::OkStatus();
  unsigned char buffer[sizeof(struct in6_addr)];
  const bool is_ip = client.ip_address.size() < INET6_ADDRSTRLEN &&
                     IsPrintableUtf8(client.ip_address) &&  // No NUL to cut c_str() short.
                     (inet_pton(AF_INET, client.ip_address.c_str(), buffer) == 1 ||
                      inet_pton(AF_INET6, client.ip_address.c_str(), buffer) == 1);
  if (!is_ip) {
    return MakeError(reason, "client.ip_address must be an IPv4 or IPv6 address");
  }
  return absl::OkStatus();
}

absl::Status ValidateRevokeReason(absl::string_view reason) {
  return ValidateText(reason, "reason", 0, kMaxRevokeReasonBytes, ErrorReason::INVALID_REQUEST);
}

}  // namespace token
