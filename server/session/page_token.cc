#include "server/session/page_token.h"

#include <openssl/sha.h>

#include "server/common/base64url.h"
#include "server/common/random.h"

namespace token {
namespace {

constexpr size_t kSubjectTagBytes = 8;
// created_at µs (8) ‖ session id (16) ‖ SHA-256(subject) prefix (8).
constexpr size_t kPayloadBytes = 8 + 16 + kSubjectTagBytes;

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t ReadBigEndian64(absl::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string SubjectTag(absl::string_view subject) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(subject.data()), subject.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), kSubjectTagBytes);
}

}  // namespace

std::string EncodePageToken(absl::string_view subject, const SessionCursor& cursor) {
  std::string payload = BigEndian64(static_cast<uint64_t>(absl::ToUnixMicros(cursor.created_at)));
  const Uuid id = ParseUuid(cursor.session_id).value_or(Uuid{});
  payload.append(reinterpret_cast<const char*>(id.data()), id.size());
  payload += SubjectTag(subject);
  return Base64UrlEncode(payload);
}

std::optional<SessionCursor> DecodePageToken(absl::string_view subject, absl::string_view token) {
  if (token.size() > 64) return std::nullopt;
  std::optional<std::string> payload = Base64UrlDecode(token);
  if (!payload.has_value() || payload->size() != kPayloadBytes) return std::nullopt;
  if (payload->substr(24) != SubjectTag(subject)) return std::nullopt;
  Uuid id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>((*payload)[8 + i]);
  SessionCursor cursor;
  cursor.created_at = absl::FromUnixMicros(static_cast<int64_t>(ReadBigEndian64(*payload)));
  cursor.session_id = UuidToString(id);
  return cursor;
}

}  // namespace token
