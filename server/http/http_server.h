// HttpServer: the HTTP side for resource servers and orchestrators (JWKS,
// health, readiness, metrics; see http_handlers.h), served by an
// event-driven Boost.Beast server on a few threads.
//
// Slow or idle clients cost a socket and a few kilobytes, never a thread:
// every connection is asynchronous, and each phase has a deadline:
//   * TLS handshake plus the first request header: header_timeout from accept;
//   * a later request header: header_timeout from its first byte;
//   * a request body: header_timeout again once the header is in;
//   * between requests on a keep-alive connection: idle_timeout;
//   * writing a response: write_timeout (a client that never reads is cut).
// At most max_connections are open at once. A connection beyond that is
// accepted and closed at once, without a TLS handshake or a response: a
// refused client learns it immediately instead of waiting in the kernel's
// accept queue, and costs nothing.
//
// Plain HTTP by default; HTTPS with the server's TLS certificate (reloaded
// with it) when TLS is on. Client certificates are never asked for:
// everything served here so far is public.
#ifndef TOKEN_SERVER_HTTP_HTTP_SERVER_H_
#define TOKEN_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/health/readiness.h"
#include "server/http/http_handlers.h"
#include "server/http/router.h"
#include "server/keys/key_provider.h"
#include "server/tls/tls_material.h"

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

    // Threads running the event loop. Handlers are short and never block on
    // a client, so two keep a spare while one renders /metrics.
    int threads = 2;
    // Open connections at most; beyond, new ones are closed at once.
    int max_connections = 1024;
    // Request line plus headers, bytes; larger gets 431.
    size_t max_header_bytes = 8 * 1024;
    // Request body, bytes; larger gets 413.
    size_t max_body_bytes = 64 * 1024;
    // Whole request header (and TLS handshake on a new connection), counted
    // from accept or from the request's first byte: not per read, so
    // dripping bytes does not extend it.
    absl::Duration header_timeout = absl::Seconds(10);
    // A keep-alive connection with no request in progress is closed after this.
    absl::Duration idle_timeout = absl::Seconds(30);
    // Writing one whole response.
    absl::Duration write_timeout = absl::Seconds(10);
  };

  // `metrics` renders the Prometheus exposition text.
  HttpServer(Options options, const KeyProvider& keys, const Readiness& readiness,
             std::function<std::string()> metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // router holds the endpoints; more may be registered before Start.
  HttpRouter& router() { return router_; }

  // Start binds and serves in the background. Fails if the address is taken
  // or the HTTPS context cannot be set up. Call once.
  absl::Status Start();
  // Stop stops accepting, closes every connection and joins the threads.
  void Stop();
  int port() const { return port_; }

  // Open connections right now (for tests and metrics).
  int connections() const;

 private:
  class Impl;

  const Options options_;
  HttpRouter router_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace token

#endif  // TOKEN_SERVER_HTTP_HTTP_SERVER_H_
