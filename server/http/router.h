// HttpRouter: maps (method, exact path) to a handler. Handlers see a plain
// HttpRequestView and return an HttpResponse; nothing here knows about
// sockets, TLS or the HTTP library, so handlers are tested in process and a
// new endpoint is one Handle() call.
#ifndef TOKEN_SERVER_HTTP_ROUTER_H_
#define TOKEN_SERVER_HTTP_ROUTER_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace token {

// HttpRequestView is one request as a handler sees it. The string_views point
// into the connection's buffers: valid only during the handler call.
struct HttpRequestView {
  absl::string_view method;  // As sent; methods are case-sensitive.
  absl::string_view target;  // "/path?query", as sent.
  absl::string_view path;    // target before '?', not percent-decoded.
  // Decoded query parameters (application/x-www-form-urlencoded rules), in
  // order; a name may repeat.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<absl::string_view, absl::string_view>> headers;
  absl::string_view body;
  std::string peer_address;  // "ip:port".
  bool tls = false;
  bool client_certificate = false;  // The peer presented a certificate.

  // Header returns the first value of the header `name` (case-insensitive).
  std::optional<absl::string_view> Header(absl::string_view name) const;
  // QueryParam returns the first value of query parameter `name`.
  std::optional<absl::string_view> QueryParam(absl::string_view name) const;
};

// HttpResponse is what a handler returns. The server adds Content-Length and
// Connection; handlers set Content-Type and anything else in `headers`.
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // WithBody returns a response with a Content-Type.
  static HttpResponse WithBody(int status, std::string content_type, std::string body);
  // Error returns {"error":"<reason>"} as JSON with `status`.
  static HttpResponse Error(int status, absl::string_view reason);
};

using HttpHandler = std::function<HttpResponse(const HttpRequestView&)>;

// ParseUrlEncoded decodes "a=1&b=x%20y+z" (query strings and form bodies):
// '+' is a space, %XX a byte. nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(
    absl::string_view text);

// HttpRouter is filled before serving starts and read-only afterwards, so
// concurrent Dispatch calls need no lock.
class HttpRouter {
 public:
  // Handle serves `method` on exactly `path` (no prefixes, no patterns) with
  // `handler`, replacing an earlier registration of the same pair. A GET
  // handler also answers HEAD (the server drops the body).
  void Handle(absl::string_view method, absl::string_view path, HttpHandler handler);

  // Dispatch runs the matching handler. Unknown path: 404; known path,
  // other method: 405 with Allow.
  HttpResponse Dispatch(const HttpRequestView& request) const;

 private:
  // path -> method -> handler.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, HttpHandler>> routes_;
};

}  // namespace token

#endif  // TOKEN_SERVER_HTTP_ROUTER_H_
