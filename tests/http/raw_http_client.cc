#include "tests/http/raw_http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace token::testing {
namespace {

int MillisUntil(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

}  // namespace

absl::StatusOr<RawConnection> RawConnection::Connect(int port, absl::Duration timeout,
                                                     int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  RawConnection connection(fd);
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
    }
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, MillisUntil(absl::Now() + timeout)) != 1) {
      return absl::DeadlineExceededError("connect timed out");
    }
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return absl::UnavailableError(absl::StrCat("connect: ", std::strerror(error)));
  }
  return connection;
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::Send(absl::string_view data) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{.fd = fd_, .events = POLLOUT, .revents = 0};
      if (::poll(&p, 1, MillisUntil(deadline)) != 1) return false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

int RawConnection::Fill(absl::Time deadline) {
  for (;;) {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno == ECONNRESET ? 0 : -1;
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, MillisUntil(deadline)) != 1) return -1;
  }
}

absl::StatusOr<RawResponse> RawConnection::ReadResponse(absl::Time deadline, bool head_only) {
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    const int n = Fill(deadline);
    if (n == 0) return absl::UnavailableError("closed before a complete header");
    if (n < 0) return absl::DeadlineExceededError("no complete header by the deadline");
  }
  RawResponse response;
  const std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  std::vector<std::string> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::InternalError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    response.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(absl::string_view(lines[i]).substr(colon + 1)));
  }
  size_t length = 0;
  const auto content_length = response.headers.find("content-length");
  const bool framed = content_length != response.headers.end();
  if (framed && !absl::SimpleAtoi(content_length->second, &length)) {
    return absl::InternalError("bad Content-Length");
  }
  if (head_only || response.status == 304 || response.status == 204) length = 0;
  if (framed || head_only || response.status == 304) {
    while (buffer_.size() < length) {
      const int n = Fill(deadline);
      if (n == 0) return absl::UnavailableError("closed before the whole body");
      if (n < 0) return absl::DeadlineExceededError("no complete body by the deadline");
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
  } else {
    for (;;) {
      const int n = Fill(deadline);
      if (n == 0) break;
      if (n < 0) return absl::DeadlineExceededError("no end of body by the deadline");
    }
    response.body = std::move(buffer_);
    buffer_.clear();
  }
  return response;
}

bool RawConnection::WaitForClose(absl::Time deadline) {
  for (;;) {
    const int n = Fill(deadline);
    buffer_.clear();
    if (n == 0) return true;
    if (n < 0) return false;
  }
}

absl::StatusOr<RawResponse> Get(int port, const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<RawConnection> connection = RawConnection::Connect(port, timeout);
  if (!connection.ok()) return connection.status();
  if (!connection->Send(absl::StrCat(
          "GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))) {
    return absl::UnavailableError("send failed");
  }
  return connection->ReadResponse(deadline);
}

}  // namespace token::testing
