// A deliberately small HTTP/1.1 client over raw loopback sockets, for tests
// that need what ordinary clients hide: sending a request one byte at a time,
// holding a connection idle, never reading, or timing one response against a
// deadline.
#ifndef TOKEN_TESTS_HTTP_RAW_HTTP_CLIENT_H_
#define TOKEN_TESTS_HTTP_RAW_HTTP_CLIENT_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace token::testing {

// RawResponse is one parsed response. Header names are lower-cased.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

// RawConnection owns one TCP connection to 127.0.0.1.
class RawConnection {
 public:
  // Connect opens a connection; fails after `timeout`. `receive_buffer`
  // > 0 shrinks SO_RCVBUF first (a client that reads slowly, or never).
  static absl::StatusOr<RawConnection> Connect(int port, absl::Duration timeout = absl::Seconds(2),
                                               int receive_buffer = 0);

  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  ~RawConnection();

  // Send writes all of `data`; false if the peer has gone.
  bool Send(absl::string_view data);

  // ReadResponse reads one response (Content-Length framed, or up to EOF
  // without one) by `deadline`. `head_only` is for answers to HEAD requests.
  absl::StatusOr<RawResponse> ReadResponse(absl::Time deadline, bool head_only = false);

  // WaitForClose reads and discards until the peer closes (EOF or reset):
  // true if that happened by `deadline`.
  bool WaitForClose(absl::Time deadline);

  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  // Fill reads more bytes into buffer_ by `deadline`; 0 on EOF, -1 on
  // timeout or error.
  int Fill(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;
};

// Get sends a GET for `path` on a new connection (Connection: close) and reads
// the response by `timeout` counted from before the connect.
absl::StatusOr<RawResponse> Get(int port, const std::string& path,
                                absl::Duration timeout = absl::Seconds(5));

}  // namespace token::testing

#endif  // TOKEN_TESTS_HTTP_RAW_HTTP_CLIENT_H_
