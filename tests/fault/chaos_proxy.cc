#include "tests/fault/chaos_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "absl/strings/str_cat.h"

namespace token::testing::fault {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChaosProxy>> ChaosProxy::Start(int target_port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot listen on loopback");
  }
  return std::unique_ptr<ChaosProxy>(new ChaosProxy(fd, ntohs(addr.sin_port), target_port));
}

ChaosProxy::ChaosProxy(int listen_fd, int port, int target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

ChaosProxy::~ChaosProxy() {
  stopping_ = true;
  acceptor_.join();
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) t.join();
  close(listen_fd_);
}

std::string ChaosProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

void ChaosProxy::AcceptLoop() {
  uint32_t seed = 1;
  while (!stopping_) {
    pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      if (server >= 0) close(server);
      close(client);
      continue;
    }
    NoDelay(client);
    NoDelay(server);
    ++connections_;
    absl::MutexLock lock(&mu_);
    pumps_.emplace_back([this, client, server, s = seed++] { Pump(client, server, s); });
  }
}

void ChaosProxy::Pump(int client_fd, int server_fd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dice(0, 999'999);
  char buffer[64 * 1024];
  while (!stopping_) {
    pollfd fds[2] = {{.fd = client_fd, .events = POLLIN, .revents = 0},
                     {.fd = server_fd, .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, 100) <= 0) continue;
    if (fds[0].revents != 0) {
      const ssize_t n = recv(client_fd, buffer, sizeof(buffer), 0);
      if (n <= 0 || !WriteAll(server_fd, buffer, static_cast<size_t>(n))) break;
    }
    if (fds[1].revents != 0) {
      const ssize_t n = recv(server_fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      if (dice(rng) < cut_per_million_.load()) {
        ++cuts_;
        break;  // Drop the chunk; close both sides.
      }
      if (!WriteAll(client_fd, buffer, static_cast<size_t>(n))) break;
    }
  }
  close(client_fd);
  close(server_fd);
}

}  // namespace token::testing::fault
