#include "server/http/http_server.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "server/tls/https_context.h"

namespace token {
namespace {

bool SplitHostPort(const std::string& listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return absl::SimpleAtoi(listen.substr(colon + 1), &port);
}

std::unique_ptr<httplib::Server> MakeServer(const HttpServer::Options& options) {
  if (options.tls == nullptr) return std::make_unique<httplib::Server>();
  const tls::TlsMaterialSource* source = options.tls;
  return std::make_unique<httplib::SSLServer>(
      [source](SSL_CTX& ctx) { return tls::ConfigureHttpsContext(ctx, *source); });
}

}  // namespace

bool EtagMatches(const std::string& if_none_match, const std::string& etag) {
  for (absl::string_view candidate : absl::StrSplit(if_none_match, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    if (candidate == "*") return true;
    absl::ConsumePrefix(&candidate, "W/");
    if (candidate == etag) return true;
  }
  return false;
}

HttpServer::HttpServer(Options options, const KeyProvider& keys, const Readiness& readiness,
                       std::function<std::string()> metrics)
    : options_(std::move(options)),
      keys_(keys),
      readiness_(readiness),
      metrics_(std::move(metrics)),
      server_(MakeServer(options_)) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_payload_max_length(1024);

  server_->Get(
      "/.well-known/jwks.json", [this](const httplib::Request& req, httplib::Response& res) {
        const KeySetPtr keys = keys_.Current();
        const std::string& body = keys->jwks_json();
        const std::string& etag = keys->jwks_etag();
        res.set_header("ETag", etag);
        res.set_header("Cache-Control", absl::StrCat("public, max-age=",
                                                     absl::ToInt64Seconds(options_.jwks_max_age)));
        if (req.has_header("If-None-Match") &&
            EtagMatches(req.get_header_value("If-None-Match"), etag)) {
          res.status = 304;
          return;
        }
        res.set_content(body, "application/jwk-set+json");
      });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"alive\":true}", "application/json");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    res.status = readiness_.ready() ? 200 : 503;
    res.set_content(readiness_.DescribeJson(), "application/json");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_(), "text/plain; version=0.0.4");
  });
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  if (!server_->is_valid()) {
    return absl::InternalError(absl::StrCat("cannot set up HTTPS on ", options_.listen));
  }
  std::string host;
  int port = 0;
  if (!SplitHostPort(options_.listen, host, port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP listen address ", options_.listen));
  }
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) port_ = 0;
  } else if (server_->bind_to_port(host, port)) {
    port_ = port;
  }
  if (port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace token
