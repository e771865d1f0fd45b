// The HTTP plane stays responsive under slow and idle clients: probes and the
// JWKS answer within a second while many connections drip their headers or
// sit idle, and each kind of slow client is cut off by its own deadline.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/health/readiness.h"
#include "server/http/http_server.h"
#include "server/keys/key_provider.h"
#include "tests/harness/poll.h"
#include "tests/http/raw_http_client.h"
#include "tests/keys/test_keys.h"

namespace token::testing {
namespace {

constexpr int kDrippers = 64;
constexpr int kIdlers = 64;
constexpr absl::Duration kProbeDeadline = absl::Seconds(1);

KeyProvider MakeKeys() {
  absl::StatusOr<KeySetPtr> set = KeySet::Create(TestKey(0), {TestKey(0)});
  if (!set.ok()) std::abort();
  return KeyProvider(*set);
}

class HttpStarvationTest : public ::testing::Test {
 protected:
  HttpStarvationTest() : keys_(MakeKeys()) { readiness_.Set("database", true, "ok"); }

  void StartServer(HttpServer::Options options) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options, keys_, readiness_,
                                           [] { return std::string("up 1\n"); });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  // OpenDripper sends a request line and a first header, leaving the header
  // unfinished.
  RawConnection OpenDripper() {
    absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) std::abort();
    c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    return *std::move(c);
  }

  KeyProvider keys_;
  Readiness readiness_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

// A thread that sends one more header byte on every dripping connection at
// a steady pace until stopped: the slowloris pattern.
class Dripper {
 public:
  Dripper(std::vector<RawConnection>& connections, absl::Duration every)
      : thread_([this, &connections, every] {
          static constexpr char kLine[] = "X-Drip: 1\r\n";
          size_t i = 0;
          while (!stop_.load()) {
            for (RawConnection& c : connections) {
              (void)c.Send(absl::string_view(&kLine[i % (sizeof(kLine) - 1)], 1));
            }
            ++i;
            absl::SleepFor(every);
          }
        }) {}
  ~Dripper() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The finding: with 64 connections dripping header bytes and 64 idle
// keep-alive connections held open, /healthz, /readyz and the JWKS each
// answer completely within 1 s, every time.
TEST_F(HttpStarvationTest, ProbesAnswerWhileSlowAndIdleClientsHoldConnections) {
  HttpServer::Options options;
  // Long enough that no slow client is cut off while the probes run: the
  // plane must stay responsive without relying on those deadlines.
  options.header_timeout = absl::Seconds(120);
  options.idle_timeout = absl::Seconds(120);
  StartServer(options);

  std::vector<RawConnection> drippers;
  for (int i = 0; i < kDrippers; ++i) drippers.push_back(OpenDripper());
  Dripper dripper(drippers, absl::Milliseconds(200));

  // Idle keep-alive connections: one complete request each, then silence.
  std::vector<RawConnection> idlers;
  for (int i = 0; i < kIdlers; ++i) {
    absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    idlers.push_back(*std::move(c));
  }
  int idle_answered = 0;
  const absl::Time idle_deadline = absl::Now() + absl::Seconds(5);
  for (RawConnection& c : idlers) {
    if (c.ReadResponse(idle_deadline).ok()) ++idle_answered;
  }
  EXPECT_EQ(idle_answered, kIdlers);

  absl::Duration slowest;
  for (int round = 0; round < 5; ++round) {
    for (const char* path : {"/healthz", "/readyz", "/.well-known/jwks.json"}) {
      const absl::Time start = absl::Now();
      absl::StatusOr<RawResponse> response = Get(port_, path, kProbeDeadline);
      const absl::Duration took = absl::Now() - start;
      ASSERT_TRUE(response.ok()) << path << " round " << round << ": " << response.status()
                                 << " after " << took;
      EXPECT_EQ(response->status, 200) << path;
      EXPECT_LT(took, kProbeDeadline) << path;
      slowest = std::max(slowest, took);
    }
  }
  RecordProperty("slowest_probe_ms", static_cast<int>(absl::ToInt64Milliseconds(slowest)));
  std::cout << "slowest probe: " << slowest << "\n";
}

// A client that drips its header is closed once the whole-header deadline
// passes, however steadily it keeps sending.
TEST_F(HttpStarvationTest, DrippingHeaderIsCutAtTheHeaderDeadline) {
  HttpServer::Options options;
  options.header_timeout = absl::Seconds(1);
  StartServer(options);
  const absl::Time start = absl::Now();
  std::vector<RawConnection> drippers;
  drippers.push_back(OpenDripper());
  Dripper dripper(drippers, absl::Milliseconds(100));
  EXPECT_TRUE(drippers[0].WaitForClose(start + absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, options.header_timeout);
}

// The same holds for the second request on a keep-alive connection: its
// deadline runs from its first byte.
TEST_F(HttpStarvationTest, DrippingSecondRequestIsCutAtTheHeaderDeadline) {
  HttpServer::Options options;
  options.header_timeout = absl::Seconds(1);
  options.idle_timeout = absl::Seconds(60);
  StartServer(options);
  absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(c->ReadResponse(absl::Now() + absl::Seconds(5)).ok());
  const absl::Time start = absl::Now();
  std::vector<RawConnection> drippers;
  drippers.push_back(*std::move(c));
  drippers[0].Send("GET /healthz HTTP/1.1\r\n");
  Dripper dripper(drippers, absl::Milliseconds(100));
  EXPECT_TRUE(drippers[0].WaitForClose(start + absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, options.header_timeout);
}

// An idle keep-alive connection is closed after the idle timeout.
TEST_F(HttpStarvationTest, IdleKeepAliveConnectionIsClosed) {
  HttpServer::Options options;
  options.idle_timeout = absl::Seconds(1);
  StartServer(options);
  absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
  ASSERT_TRUE(c.ok()) << c.status();
  // The idle time runs from the server's answer, which is after this.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  absl::StatusOr<RawResponse> response = c->ReadResponse(absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(c->WaitForClose(start + absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, options.idle_timeout);
  EXPECT_TRUE(PollUntil([&] { return server_->connections() == 0; }, absl::Seconds(5)));
}

// A new connection that never sends a byte is closed by the header deadline
// (which runs from accept), not kept for the idle timeout.
TEST_F(HttpStarvationTest, SilentNewConnectionIsCutAtTheHeaderDeadline) {
  HttpServer::Options options;
  options.header_timeout = absl::Seconds(1);
  options.idle_timeout = absl::Seconds(60);
  StartServer(options);
  const absl::Time start = absl::Now();
  absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->WaitForClose(start + absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, options.header_timeout);
}

// No more than max_connections are open at once; one more is closed
// without an answer, and once a slot frees up new clients are served again.
TEST_F(HttpStarvationTest, ConnectionLimitHolds) {
  HttpServer::Options options;
  options.max_connections = 8;
  options.idle_timeout = absl::Seconds(60);
  StartServer(options);
  std::vector<RawConnection> held;
  for (int i = 0; i < options.max_connections; ++i) {
    absl::StatusOr<RawConnection> c = RawConnection::Connect(port_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(c->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(c->ReadResponse(absl::Now() + absl::Seconds(5)).ok());
    held.push_back(*std::move(c));
  }
  EXPECT_EQ(server_->connections(), options.max_connections);

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<RawConnection> extra = RawConnection::Connect(port_);
    ASSERT_TRUE(extra.ok()) << extra.status();
    extra->Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // Closed promptly, without a response.
    absl::StatusOr<RawResponse> refused = extra->ReadResponse(absl::Now() + absl::Seconds(2));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
    EXPECT_LE(server_->connections(), options.max_connections);
  }

  held.pop_back();
  EXPECT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<RawResponse> r = Get(port_, "/healthz", absl::Seconds(1));
        return r.ok() && r->status == 200;
      },
      absl::Seconds(10)));
}

// A client that asks for a large response and never reads it is cut once the
// write deadline passes, and its connection is released.
TEST_F(HttpStarvationTest, ClientThatNeverReadsIsCutAtTheWriteDeadline) {
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  options.write_timeout = absl::Seconds(1);
  server_ = std::make_unique<HttpServer>(options, keys_, readiness_,
                                         [] { return std::string(32 << 20, 'm'); });
  ASSERT_TRUE(server_->Start().ok());
  port_ = server_->port();

  absl::StatusOr<RawConnection> c =
      RawConnection::Connect(port_, absl::Seconds(2), /*receive_buffer=*/4096);
  ASSERT_TRUE(c.ok()) << c.status();
  // The write deadline runs from the server's first write, which is after this.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(c->Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_TRUE(PollUntil([&] { return server_->connections() == 1; }, absl::Seconds(5)));
  EXPECT_TRUE(PollUntil([&] { return server_->connections() == 0; }, absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, options.write_timeout);
  // The client, reading at last, gets less than the whole response.
  absl::StatusOr<RawResponse> response = c->ReadResponse(absl::Now() + absl::Seconds(10));
  EXPECT_FALSE(response.ok());
}

}  // namespace
}  // namespace token::testing
