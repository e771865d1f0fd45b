// HttpServer: the HTTP side for resource servers and orchestrators:
//   GET /.well-known/jwks.json  public keys (RFC 7517), cacheable, ETag/304
//   GET /healthz                the process is alive
//   GET /readyz                 200 when ready to serve, else 503 (JSON detail)
//   GET /metrics                Prometheus text format
// Built on cpp-httplib; runs its own small thread pool. Plain HTTP by default;
// HTTPS with the server's TLS certificate (reloaded with it) when TLS is on.
// Client certificates are never asked for: everything here is public.
#ifndef TOKEN_SERVER_HTTP_HTTP_SERVER_H_
#define TOKEN_SERVER_HTTP_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/health/readiness.h"
#include "server/keys/key_provider.h"
#include "server/tls/tls_material.h"

namespace httplib {
class Server;
}

namespace token {

class HttpServer {
 public:
  struct Options {
    std::string listen;  // host:port; port 0 picks a free one.
    // How long clients may cache the JWKS (Cache-Control max-age, whole
    // seconds); see JwksMaxAge in server/keys/key_rotation.h.
    absl::Duration jwks_max_age = absl::Minutes(5);
    // tls: when set, serve HTTPS with the certificate this source holds at
    // each handshake. Must outlive the server.
    const tls::TlsMaterialSource* tls = nullptr;
  };

  // `metrics` renders the Prometheus exposition text.
  HttpServer(Options options, const KeyProvider& keys, const Readiness& readiness,
             std::function<std::string()> metrics);
  ~HttpServer();

  // Start binds and serves in the background. Fails if the address is taken
  // or the HTTPS context cannot be set up.
  absl::Status Start();
  // Stop stops accepting and joins the server thread.
  void Stop();
  int port() const { return port_; }

 private:
  const Options options_;
  const KeyProvider& keys_;
  const Readiness& readiness_;
  const std::function<std::string()> metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// EtagMatches implements If-None-Match: a list of tags, or "*". Weak
// comparison, as RFC 9110 prescribes for If-None-Match.
bool EtagMatches(const std::string& if_none_match, const std::string& etag);

}  // namespace token

#endif  // TOKEN_SERVER_HTTP_HTTP_SERVER_H_
