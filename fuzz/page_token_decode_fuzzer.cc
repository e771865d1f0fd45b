// Fuzz target page_token_decode: DecodePageToken as ListSessions calls it.
// Input: the subject, a newline, then the page token (no newline: an empty
// subject and the whole input as the token).
// Invariant: a token that decodes is exactly what EncodePageToken writes for
// that subject and cursor (one spelling per position), and the cursor's
// session id is a canonical UUID.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "fuzz/fuzz_support.h"
#include "server/common/random.h"
#include "server/session/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace token;
  using namespace token::fuzz;
  const absl::string_view input = AsText(data, size);
  const size_t newline = input.find('\n');
  absl::string_view subject;
  absl::string_view page_token = input;
  if (newline != absl::string_view::npos) {
    subject = input.substr(0, newline);
    page_token = input.substr(newline + 1);
  }
  const std::optional<SessionCursor> cursor = DecodePageToken(subject, page_token);
  if (!cursor.has_value()) return 0;
  const std::optional<Uuid> id = ParseUuid(cursor->session_id);
  FUZZ_CHECK(id.has_value() && UuidToString(*id) == cursor->session_id);
  FUZZ_CHECK(EncodePageToken(subject, *cursor) == page_token);
  return 0;
}
