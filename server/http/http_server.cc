#include "server/http/http_server.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/log.h"
#include "server/tls/https_context.h"

namespace token {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// A TLS peer that does not answer our close_notify is not waited for longer.
constexpr absl::Duration kTlsShutdownTimeout = absl::Seconds(1);
// After a failed accept (e.g. out of file descriptors), wait before the next
// so the loop does not spin.
constexpr absl::Duration kAcceptRetryDelay = absl::Milliseconds(50);

std::chrono::steady_clock::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

absl::string_view View(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

bool SplitHostPort(const std::string& listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return absl::SimpleAtoi(listen.substr(colon + 1), &port) && port >= 0 && port <= 65535;
}

// ServerState is what every connection reads; it outlives them all.
struct ServerState {
  const HttpServer::Options& options;
  const HttpRouter& router;
  std::atomic<int> connections{0};
};

// ConnectionSlot counts one open connection for as long as it lives.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::atomic<int>& count) : count_(&count) { count_->fetch_add(1); }
  ConnectionSlot(ConnectionSlot&& other) noexcept : count_(std::exchange(other.count_, nullptr)) {}
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (count_ != nullptr) count_->fetch_sub(1);
  }

 private:
  std::atomic<int>* count_;
};

// Session serves one connection: handshake (TLS), then request after request
// until the client closes, a deadline passes or a request is malformed. Every
// step runs on the connection's strand, one at a time, so the session needs
// no lock. Stream is beast::tcp_stream or beast::ssl_stream of one.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... StreamArgs>
  Session(ServerState& state, ConnectionSlot slot, std::string peer, StreamArgs&&... stream_args)
      : state_(state),
        slot_(std::move(slot)),
        peer_(std::move(peer)),
        stream_(std::forward<StreamArgs>(stream_args)...) {}

  void Run() {
    // The header deadline runs from accept and covers the TLS handshake.
    Expire(state_.options.header_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, Self()));
    } else {
      ReadHeader();
    }
  }

 private:
  std::shared_ptr<Session> Self() { return this->shared_from_this(); }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  void Expire(absl::Duration d) { Tcp().expires_after(ToSteady(d)); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // Includes the deadline: nothing to answer on.
    ReadHeader();
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state_.options.max_header_bytes));
    parser_->body_limit(state_.options.max_body_bytes);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, Self()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Serve();
    Expire(state_.options.header_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, Self()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    Serve();
  }

  // OnReadError answers what the client can act on (too large, malformed)
  // and closes; a deadline or a vanished client just closes.
  void OnReadError(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Write(HttpResponse::Error(431, "header_too_large"), /*keep_alive=*/false, false);
    }
    if (ec == http::error::body_limit) {
      return Write(HttpResponse::Error(413, "body_too_large"), false, false);
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return Write(HttpResponse::Error(400, "bad_request"), false, false);
    }
  }

  void Serve() {
    const http::request<http::string_body>& request = parser_->get();
    HttpRequestView view;
    view.method = View(request.method_string());
    view.target = View(request.target());
    view.path = view.target.substr(0, view.target.find('?'));
    view.body = request.body();
    view.peer_address = peer_;
    view.tls = kTls;
    if constexpr (kTls) {
      view.client_certificate = SSL_get0_peer_certificate(stream_.native_handle()) != nullptr;
    }
    for (const auto& field : request) {
      view.headers.emplace_back(View(field.name_string()), View(field.value()));
    }
    const bool keep_alive = request.keep_alive();
    const bool head = request.method() == http::verb::head;
    if (view.path.empty() || view.path.front() != '/') {
      return Write(HttpResponse::Error(400, "bad_target"), false, head);
    }
    if (view.path.size() < view.target.size()) {
      auto query = ParseUrlEncoded(view.target.substr(view.path.size() + 1));
      if (!query.has_value()) return Write(HttpResponse::Error(400, "bad_query"), false, head);
      view.query = *std::move(query);
    }
    HttpResponse answer;
    try {
      answer = state_.router.Dispatch(view);
    } catch (const std::exception&) {
      // The message could quote request or key data: not logged.
      Log(LogLevel::kError, "HTTP handler failed",
          {{"method", std::string(view.method)}, {"path", std::string(view.path)}});
      answer = HttpResponse::Error(500, "internal");
    }
    Write(std::move(answer), keep_alive, head);
  }

  void Write(HttpResponse answer, bool keep_alive, bool head) {
    const unsigned version =
        parser_.has_value() && parser_->is_header_done() ? parser_->get().version() : 11;
    response_.emplace(static_cast<http::status>(answer.status), version);
    for (auto& [name, value] : answer.headers) response_->insert(name, value);
    response_->keep_alive(keep_alive);
    const int status = answer.status;
    if (status == 304 || status == 204 || (status >= 100 && status < 200)) {
      // No body and no Content-Length: the latter would describe the body
      // the client already has.
    } else if (head) {
      response_->content_length(answer.body.size());
    } else {
      response_->body() = std::move(answer.body);
      response_->prepare_payload();
    }
    parser_.reset();
    Expire(state_.options.write_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::OnWrite, Self(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_.reset();
    if (ec) return;
    if (!keep_alive) return Close();
    if (buffer_.size() > 0) {
      // The next request has begun arriving already.
      Expire(state_.options.header_timeout);
      return ReadHeader();
    }
    Expire(state_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            beast::bind_front_handler(&Session::OnNextRequest, Self()));
  }

  // OnNextRequest: the first bytes of the next request ended the idle wait;
  // from here the header deadline applies.
  void OnNextRequest(beast::error_code ec, size_t bytes) {
    if (ec) return;
    buffer_.commit(bytes);
    Expire(state_.options.header_timeout);
    ReadHeader();
  }

  void Close() {
    if constexpr (kTls) {
      Expire(kTlsShutdownTimeout);
      stream_.async_shutdown([self = Self()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  ServerState& state_;
  ConnectionSlot slot_;
  const std::string peer_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const Options& options, const HttpRouter& router)
      : state_{.options = options, .router = router},
        acceptor_(net::make_strand(io_)),
        retry_timer_(acceptor_.get_executor()) {}

  absl::Status Listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(ec.message());
    return absl::OkStatus();
  }

  int port() const { return acceptor_.local_endpoint().port(); }

  bool SetUpTls() {
    tls_.emplace(ssl::context::tls_server);
    // Idle connections give their read and write buffers back (about 34 KiB
    // each), so many idle TLS clients cost little memory.
    SSL_CTX_set_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    return tls::ConfigureHttpsContext(*tls_->native_handle(), *state_.options.tls);
  }

  void Run(int threads) {
    net::dispatch(acceptor_.get_executor(), [this] { Accept(); });
    for (int i = 0; i < std::max(threads, 1); ++i) {
      threads_.emplace_back([this] {
        // An exception out of a completion handler (allocation failure,
        // say) ends only that connection's chain of handlers; the loop goes
        // on serving the others.
        for (;;) {
          try {
            io_.run();
            return;
          } catch (const std::exception& e) {
            Log(LogLevel::kError, "HTTP event loop error", {{"error", e.what()}});
          }
        }
      });
    }
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
    });
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  int connections() const { return state_.connections.load(); }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        retry_timer_.expires_after(ToSteady(kAcceptRetryDelay));
        retry_timer_.async_wait([this](beast::error_code wait) {
          if (!wait) Accept();
        });
        return;
      }
      Admit(std::move(socket));
      Accept();
    });
  }

  void Admit(tcp::socket socket) {
    if (state_.connections.load() >= state_.options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    beast::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;  // Already gone.
    std::string peer = remote.address().is_v6()
                           ? absl::StrCat("[", remote.address().to_string(), "]:", remote.port())
                           : absl::StrCat(remote.address().to_string(), ":", remote.port());
    ConnectionSlot slot(state_.connections);
    if (tls_.has_value()) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          state_, std::move(slot), std::move(peer), std::move(socket), *tls_)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(state_, std::move(slot), std::move(peer),
                                                   std::move(socket))
          ->Run();
    }
  }

  // Declaration order matters for destruction: sessions (owned by handlers
  // queued on io_) go with io_, before the state and TLS context they use.
  ServerState state_;
  std::optional<ssl::context> tls_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
  std::vector<std::thread> threads_;
};

HttpServer::HttpServer(Options options, const KeyProvider& keys, const Readiness& readiness,
                       std::function<std::string()> metrics)
    : options_(std::move(options)) {
  RegisterPublicHandlers(router_, keys, readiness, std::move(metrics), options_.jwks_max_age);
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  std::string host;
  int port = 0;
  if (!SplitHostPort(options_.listen, host, port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP listen address ", options_.listen));
  }
  // Host names (e.g. "localhost") are resolved once, here; the first
  // address wins.
  net::io_context resolver_context;
  tcp::resolver resolver(resolver_context);
  beast::error_code ec;
  const auto resolved =
      resolver.resolve(host.empty() ? "0.0.0.0" : host, absl::StrCat(port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || resolved.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP listen address ", options_.listen));
  }
  auto impl = std::make_unique<Impl>(options_, router_);
  if (options_.tls != nullptr && !impl->SetUpTls()) {
    return absl::InternalError(absl::StrCat("cannot set up HTTPS on ", options_.listen));
  }
  if (absl::Status s = impl->Listen(resolved.begin()->endpoint()); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen, ": ", s.message()));
  }
  port_ = impl->port();
  impl->Run(options_.threads);
  impl_ = std::move(impl);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->Stop();
  impl_.reset();
}

int HttpServer::connections() const { return impl_ == nullptr ? 0 : impl_->connections(); }

}  // namespace token
