// ListSessions page tokens: an opaque, URL-safe encoding of the keyset cursor,
// bound to the subject it was issued for. Not secret (it only names a
// position), but a token for one subject is refused for another.
#ifndef TOKEN_SERVER_SESSION_PAGE_TOKEN_H_
#define TOKEN_SERVER_SESSION_PAGE_TOKEN_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "server/store/session_store.h"

namespace token {

// EncodePageToken returns the token that continues after `cursor`.
// REQUIRES: cursor.session_id is a canonical UUID.
std::string EncodePageToken(absl::string_view subject, const SessionCursor& cursor);

// DecodePageToken returns the cursor, or nullopt if `token` is malformed or
// was issued for another subject.
std::optional<SessionCursor> DecodePageToken(absl::string_view subject, absl::string_view token);

}  // namespace token

#endif  // TOKEN_SERVER_SESSION_PAGE_TOKEN_H_
