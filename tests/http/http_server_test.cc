// HttpServer over loopback: the endpoints, HTTP/1.1 framing and keep-alive,
// request limits, the router as an extension point, and HTTPS with the
// certificate reloaded per handshake.
#include "server/http/http_server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/tls/tls_material.h"
#include "tests/harness/poll.h"
#include "tests/http/raw_http_client.h"
#include "tests/keys/test_keys.h"
#include "tests/tls/test_pki.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

KeySetPtr Keys(size_t i) {
  absl::StatusOr<KeySetPtr> set = KeySet::Create(TestKey(i), {TestKey(i)});
  if (!set.ok()) std::abort();
  return *set;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : keys_(Keys(0)) {}

  void Start(HttpServer::Options options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options, keys_, readiness_,
                                           [] { return std::string("token_up 1\n"); });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }

  RawConnection Connect() {
    absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) std::abort();
    return *std::move(c);
  }

  // Exchange sends `request` on a new connection and reads one response.
  absl::StatusOr<RawResponse> Exchange(absl::string_view request, bool head_only = false) {
    RawConnection c = Connect();
    if (!c.Send(request)) return absl::UnavailableError("send failed");
    return c.ReadResponse(In(absl::Seconds(5)), head_only);
  }

  KeyProvider keys_;
  Readiness readiness_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ServesJwksWithCacheHeadersAnd304) {
  Start({.jwks_max_age = absl::Minutes(30)});
  absl::StatusOr<RawResponse> jwks = Get(port_, "/.well-known/jwks.json");
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_EQ(jwks->status, 200);
  EXPECT_EQ(jwks->body, keys_.Current()->jwks_json());
  EXPECT_EQ(jwks->headers["content-type"], "application/jwk-set+json");
  EXPECT_EQ(jwks->headers["etag"], keys_.Current()->jwks_etag());
  EXPECT_EQ(jwks->headers["cache-control"], "public, max-age=1800");

  absl::StatusOr<RawResponse> cached = Exchange(absl::StrCat(
      "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ", jwks->headers["etag"],
      "\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(cached->status, 304);
  EXPECT_EQ(cached->body, "");
  EXPECT_EQ(cached->headers["etag"], jwks->headers["etag"]);

  keys_.Replace(Keys(1));
  absl::StatusOr<RawResponse> rotated = Exchange(absl::StrCat(
      "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ", jwks->headers["etag"],
      "\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->status, 200);
  EXPECT_EQ(rotated->body, keys_.Current()->jwks_json());
}

TEST_F(HttpServerTest, ServesHealthReadinessAndMetrics) {
  Start();
  absl::StatusOr<RawResponse> health = Get(port_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "{\"alive\":true}");
  EXPECT_EQ(health->headers["content-type"], "application/json");

  absl::StatusOr<RawResponse> ready = Get(port_, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, readiness_.DescribeJson());
  readiness_.Set("database", true, "ok");
  ready = Get(port_, "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);
  EXPECT_THAT(ready->body, HasSubstr("\"ready\":true"));

  absl::StatusOr<RawResponse> metrics = Get(port_, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->body, "token_up 1\n");
  EXPECT_EQ(metrics->headers["content-type"], "text/plain; version=0.0.4");
}

TEST_F(HttpServerTest, UnknownPathIs404AndOtherMethodIs405) {
  Start();
  absl::StatusOr<RawResponse> missing = Get(port_, "/nope");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
  absl::StatusOr<RawResponse> post =
      Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->headers["allow"], "GET, HEAD");
}

TEST_F(HttpServerTest, KeepAliveAndPipelinedRequestsShareAConnection) {
  Start();
  RawConnection c = Connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    absl::StatusOr<RawResponse> r = c.ReadResponse(In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
  // Two requests in one write: both answered, in order.
  ASSERT_TRUE(
      c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  absl::StatusOr<RawResponse> first = c.ReadResponse(In(absl::Seconds(5)));
  absl::StatusOr<RawResponse> second = c.ReadResponse(In(absl::Seconds(5)));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->body, "{\"alive\":true}");
  EXPECT_EQ(second->body, "token_up 1\n");
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  Start();
  for (const char* request : {"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              "GET /healthz HTTP/1.0\r\n\r\n"}) {
    RawConnection c = Connect();
    ASSERT_TRUE(c.Send(request));
    absl::StatusOr<RawResponse> r = c.ReadResponse(In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.WaitForClose(In(absl::Seconds(5)))) << request;
  }
}

TEST_F(HttpServerTest, HeadAnswersHeadersOnly) {
  Start();
  RawConnection c = Connect();
  ASSERT_TRUE(c.Send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  absl::StatusOr<RawResponse> head = c.ReadResponse(In(absl::Seconds(5)), /*head_only=*/true);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], "14");
  // The connection carries on right after the headers: no body was sent.
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  absl::StatusOr<RawResponse> get = c.ReadResponse(In(absl::Seconds(5)));
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->body, "{\"alive\":true}");
}

TEST_F(HttpServerTest, OversizedOrMalformedRequestsGetAClearStatus) {
  Start({.max_header_bytes = 1024, .max_body_bytes = 100});
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {absl::StrCat("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(2000, 'a'),
                    "\r\n\r\n"),
       431},
      {"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
      {"NOT A REQUEST\r\n\r\n", 400},
      {"GET /healthz?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
  };
  for (const Case& c : cases) {
    RawConnection connection = Connect();
    ASSERT_TRUE(connection.Send(c.request));
    absl::StatusOr<RawResponse> r = connection.ReadResponse(In(absl::Seconds(5)));
    ASSERT_TRUE(r.ok()) << r.status() << " for " << c.request.substr(0, 40);
    EXPECT_EQ(r->status, c.status) << c.request.substr(0, 40);
    EXPECT_TRUE(connection.WaitForClose(In(absl::Seconds(5))));
  }
  // The server is unharmed.
  absl::StatusOr<RawResponse> health = Get(port_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
}

// A new endpoint is one registration; its handler sees method, path, query,
// headers, body and peer.
TEST_F(HttpServerTest, RegisteredHandlerSeesTheWholeRequest) {
  server_ = std::make_unique<HttpServer>(HttpServer::Options{.listen = "127.0.0.1:0"}, keys_,
                                         readiness_, [] { return std::string(); });
  server_->router().Handle("POST", "/v1/verify", [](const HttpRequestView& request) {
    const auto form = ParseUrlEncoded(request.body);
    return HttpResponse::WithBody(
        200, "text/plain",
        absl::StrCat(request.method, " ", request.path, " q=", request.QueryParam("q").value_or(""),
                     " auth=", request.Header("authorization").value_or(""),
                     " token=", form.has_value() && !form->empty() ? (*form)[0].second : "",
                     " peer=", absl::StartsWith(request.peer_address, "127.0.0.1:") ? "ok" : "bad",
                     " tls=", request.tls, " cert=", request.client_certificate));
  });
  ASSERT_TRUE(server_->Start().ok());
  port_ = server_->port();
  absl::StatusOr<RawResponse> r = Exchange(
      "POST /v1/verify?q=a+b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\ntoken=x%2Fy");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "POST /v1/verify q=a b auth=Bearer t token=x/y peer=ok tls=0 cert=0");
}

// A handler that throws costs its request a 500, not the server.
TEST_F(HttpServerTest, ThrowingHandlerIs500) {
  server_ = std::make_unique<HttpServer>(HttpServer::Options{.listen = "127.0.0.1:0"}, keys_,
                                         readiness_, [] { return std::string(); });
  server_->router().Handle("GET", "/boom", [](const HttpRequestView&) -> HttpResponse {
    throw std::runtime_error("secret detail");
  });
  ASSERT_TRUE(server_->Start().ok());
  port_ = server_->port();
  absl::StatusOr<RawResponse> boom = Get(port_, "/boom");
  ASSERT_TRUE(boom.ok()) << boom.status();
  EXPECT_EQ(boom->status, 500);
  EXPECT_THAT(boom->body, Not(HasSubstr("secret")));
  absl::StatusOr<RawResponse> health = Get(port_, "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
}

TEST_F(HttpServerTest, StartFailsOnBadOrTakenAddress) {
  Start();
  for (const std::string& listen :
       {std::string("no-port"), std::string("127.0.0.1:99999"), std::string("not a host:80")}) {
    HttpServer bad({.listen = listen}, keys_, readiness_, [] { return std::string(); });
    EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument) << listen;
  }
  HttpServer taken({.listen = absl::StrCat("127.0.0.1:", port_)}, keys_, readiness_,
                   [] { return std::string(); });
  EXPECT_EQ(taken.Start().code(), absl::StatusCode::kUnavailable);
  HttpServer named({.listen = "localhost:0"}, keys_, readiness_, [] { return std::string(); });
  EXPECT_TRUE(named.Start().ok());
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsPromptly) {
  Start({.idle_timeout = absl::Hours(1)});
  RawConnection idle = Connect();
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.ReadResponse(In(absl::Seconds(5))).ok());
  RawConnection dripping = Connect();
  ASSERT_TRUE(dripping.Send("GET /healthz HTTP/1.1\r\n"));
  const absl::Time start = absl::Now();
  server_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(idle.WaitForClose(In(absl::Seconds(5))));
  EXPECT_TRUE(dripping.WaitForClose(In(absl::Seconds(5))));
}

// --- HTTPS ----------------------------------------------------------------

class FakeTlsSource : public tls::TlsMaterialSource {
 public:
  void Set(tls::TlsMaterialPtr material) {
    absl::MutexLock lock(&mu_);
    current_ = std::move(material);
  }
  tls::TlsMaterialPtr Current() const override {
    absl::MutexLock lock(&mu_);
    return current_;
  }

 private:
  mutable absl::Mutex mu_;
  tls::TlsMaterialPtr current_ ABSL_GUARDED_BY(mu_);
};

tls::TlsMaterialPtr Material(const Issued& issued) {
  absl::StatusOr<tls::TlsMaterialPtr> material = tls::TlsMaterial::Parse(
      {.cert = "cert", .key = "key"}, {issued.cert_pem, issued.key_pem, ""}, absl::Now());
  EXPECT_TRUE(material.ok()) << material.status();
  return material.ok() ? *material : nullptr;
}

struct HttpsResult {
  std::string error;  // Empty on success.
  int status = 0;
  std::string response;
  std::string server_serial;
};

// HttpsGet makes one HTTPS request, verifying the server against `ca_pem`
// for 127.0.0.1, and reads the response to EOF.
HttpsResult HttpsGet(int port, const std::string& path, const std::string& ca_pem) {
  HttpsResult result;
  absl::StatusOr<RawConnection> c = RawConnection::Connect(port);
  if (!c.ok()) return {.error = std::string(c.status().message())};
  const int fd = c->fd();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  BioPtr bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  SSL_set_fd(ssl.get(), fd);
  if (SSL_connect(ssl.get()) != 1) {
    ERR_clear_error();
    return {.error = "handshake failed"};
  }
  X509* peer = SSL_get0_peer_certificate(ssl.get());
  BioPtr pem(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(pem.get(), peer);
  char* data = nullptr;
  const long size = BIO_get_mem_data(pem.get(), &data);
  result.server_serial = SerialOfPem(std::string(data, static_cast<size_t>(size)));

  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) <= 0) {
    ERR_clear_error();
    return {.error = "write failed"};
  }
  char buffer[4096];
  int n;
  while ((n = SSL_read(ssl.get(), buffer, sizeof(buffer))) > 0) result.response.append(buffer, n);
  ERR_clear_error();
  if (!absl::StartsWith(result.response, "HTTP/1.1 ") || result.response.size() < 12) {
    return {.error = "no response"};
  }
  result.status = std::stoi(result.response.substr(9, 3));
  return result;
}

class HttpsServerTest : public HttpServerTest {
 protected:
  HttpsServerTest()
      : ca_(TestCa::Create("http test CA")),
        first_(ca_.Issue({.common_name = "first", .ip_sans = {"127.0.0.1"}, .server = true})),
        second_(ca_.Issue({.common_name = "second", .ip_sans = {"127.0.0.1"}, .server = true})) {
    source_.Set(Material(first_));
  }

  TestCa ca_;
  Issued first_;
  Issued second_;
  FakeTlsSource source_;
};

TEST_F(HttpsServerTest, ServesHttpsWithTheCertificateOfEachHandshake) {
  Start({.tls = &source_});
  HttpsResult r = HttpsGet(port_, "/healthz", ca_.cert_pem());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.response, HasSubstr("{\"alive\":true}"));
  EXPECT_EQ(r.server_serial, first_.serial);

  // A reload: the next handshake presents the new certificate, no restart.
  source_.Set(Material(second_));
  r = HttpsGet(port_, "/.well-known/jwks.json", ca_.cert_pem());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.response, HasSubstr(keys_.Current()->jwks_json()));
  EXPECT_EQ(r.server_serial, second_.serial);
}

TEST_F(HttpsServerTest, PlaintextOnTheHttpsPortGetsNoAnswer) {
  Start({.tls = &source_});
  absl::StatusOr<RawResponse> r = Get(port_, "/healthz", absl::Seconds(5));
  EXPECT_FALSE(r.ok() && r->status == 200);
  // And the server is unharmed.
  EXPECT_EQ(HttpsGet(port_, "/healthz", ca_.cert_pem()).status, 200);
}

// A client that opens a TLS connection and never completes the handshake is
// cut by the header deadline, which covers the handshake.
TEST_F(HttpsServerTest, StalledHandshakeIsCutAtTheHeaderDeadline) {
  Start({.tls = &source_, .header_timeout = absl::Seconds(1)});
  const absl::Time start = absl::Now();
  RawConnection c = Connect();
  ASSERT_TRUE(c.Send(std::string("\x16\x03\x01", 3)));  // The start of a ClientHello.
  EXPECT_TRUE(c.WaitForClose(start + absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
}

// Over HTTPS too, clients stalling in the handshake do not hold up probes.
TEST_F(HttpsServerTest, HttpsProbesAnswerWhileHandshakesDrip) {
  Start({.tls = &source_, .header_timeout = absl::Seconds(120)});
  readiness_.Set("database", true, "ok");
  std::vector<RawConnection> stalled;
  for (int i = 0; i < 64; ++i) {
    stalled.push_back(Connect());
    ASSERT_TRUE(stalled.back().Send(std::string("\x16\x03\x01\x02", 4)));
  }
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    while (!stop.load()) {
      for (RawConnection& c : stalled) (void)c.Send(std::string(1, '\0'));
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  for (int round = 0; round < 3; ++round) {
    for (const char* path : {"/healthz", "/readyz", "/.well-known/jwks.json"}) {
      const absl::Time start = absl::Now();
      const HttpsResult r = HttpsGet(port_, path, ca_.cert_pem());
      const absl::Duration took = absl::Now() - start;
      EXPECT_EQ(r.error, "") << path;
      EXPECT_EQ(r.status, 200) << path;
      EXPECT_LT(took, absl::Seconds(1)) << path;
    }
  }
  stop.store(true);
  dripper.join();
}

}  // namespace
}  // namespace token::testing
