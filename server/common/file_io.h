// File I/O shared by the code that reads operator files (keys, TLS material,
// policies) and writes private ones (generated keys, the refresh secret):
// an owning file descriptor, a bounded read of a small regular file, and the
// creation of a 0600 file that never replaces an existing one.
// Nothing here puts file contents into a status message.
#ifndef TOKEN_SERVER_COMMON_FILE_IO_H_
#define TOKEN_SERVER_COMMON_FILE_IO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace token {

// Fd owns a POSIX file descriptor and closes it when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Close closes now and returns what close() returned (errno is set on -1),
  // so a writer can notice a failed close; 0 when nothing is open.
  int Close();
  // Release gives up ownership without closing.
  int Release();

 private:
  int fd_ = -1;
};

// ErrnoStatus returns "<what> <path>: <strerror(err)>" with a code chosen by
// `err`: NOT_FOUND for ENOENT, ALREADY_EXISTS for EEXIST, PERMISSION_DENIED
// for EACCES and EPERM, INTERNAL otherwise.
absl::Status ErrnoStatus(int err, absl::string_view what, absl::string_view path);

// JoinPath returns "<dir>/<name>" without doubling a trailing '/'.
std::string JoinPath(absl::string_view dir, absl::string_view name);

// FileReadError says why ReadSmallFile failed, for callers that phrase their
// own messages (as flag-named errors do).
struct FileReadError {
  enum class Kind { kOpen, kStat, kNotRegular, kRead, kTooLarge };
  Kind kind = Kind::kOpen;
  // err: errno for kOpen, kStat and kRead; 0 otherwise.
  int err = 0;
};

// ReadSmallFile returns the contents of the regular file at `path` (links
// followed) when it holds at most `max_bytes`. The type is checked with
// fstat on the open descriptor, so a file swapped after the check is never
// read. Buffers holding what was read are wiped on every path (the file may
// hold a private key); on success the caller owns the only copy.
// Errors: open/stat/read failures as ErrnoStatus ("cannot open <path>: ..."),
// INVALID_ARGUMENT "<path> is not a regular file" and
// "<path> is larger than <max_bytes> bytes". When `error` is set it receives
// the reason too.
[[nodiscard]] absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes,
                                                        FileReadError* error = nullptr);

// WriteAll writes all of `data` to `fd`, retrying short and interrupted
// writes. Returns false with errno set when a write fails.
[[nodiscard]] bool WriteAll(int fd, absl::string_view data);

// CreatePrivateFile writes `content` to "<dir>/<name>" with mode exactly
// 0600 (whatever the umask). The data goes to a hidden temporary file in
// `dir` opened with O_CREAT|O_EXCL|O_NOFOLLOW, is synced, and is then
// hard-linked to its final name, which fails with ALREADY_EXISTS instead of
// replacing an existing file. Readers never see a partial file; the
// temporary file is removed on every path.
[[nodiscard]] absl::Status CreatePrivateFile(const std::string& dir, const std::string& name,
                                             absl::string_view content);

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_FILE_IO_H_
