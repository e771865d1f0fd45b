// The public endpoints of the HTTP plane, as router handlers:
//   GET /.well-known/jwks.json  public keys (RFC 7517), cacheable, ETag/304
//   GET /healthz                the process is alive
//   GET /readyz                 200 when ready to serve, else 503 (JSON detail)
//   GET /metrics                Prometheus text format
// Each only translates between HTTP and the object that knows the answer.
#ifndef TOKEN_SERVER_HTTP_HTTP_HANDLERS_H_
#define TOKEN_SERVER_HTTP_HTTP_HANDLERS_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "server/health/readiness.h"
#include "server/http/router.h"
#include "server/keys/key_provider.h"

namespace token {

inline constexpr char kJwksPath[] = "/.well-known/jwks.json";

// RegisterPublicHandlers adds the four endpoints above to `router`.
// `jwks_max_age` is the JWKS Cache-Control max-age (whole seconds);
// `metrics` renders the Prometheus exposition text. `keys`, `readiness` and
// `metrics` must outlive the router.
void RegisterPublicHandlers(HttpRouter& router, const KeyProvider& keys, const Readiness& readiness,
                            std::function<std::string()> metrics, absl::Duration jwks_max_age);

// EtagMatches implements If-None-Match: a list of tags, or "*". Weak
// comparison, as RFC 9110 prescribes for If-None-Match.
bool EtagMatches(absl::string_view if_none_match, absl::string_view etag);

}  // namespace token

#endif  // TOKEN_SERVER_HTTP_HTTP_HANDLERS_H_
