#include "server/common/file_io.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/random.h"

namespace token {
namespace {

// SyncDirectory makes new entries in `dir` durable; best effort.
void SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.Release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::Close() {
  if (fd_ < 0) return 0;
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

int Fd::Release() { return std::exchange(fd_, -1); }

absl::Status ErrnoStatus(int err, absl::string_view what, absl::string_view path) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (!dir.empty() && dir.back() == '/') return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes,
                                          FileReadError* error) {
  const auto fail = [&](FileReadError::Kind kind, int err, absl::Status status) {
    if (error != nullptr) *error = FileReadError{.kind = kind, .err = err};
    return status;
  };
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    return fail(FileReadError::Kind::kOpen, err, ErrnoStatus(err, "cannot open", path));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    const int err = errno;
    return fail(FileReadError::Kind::kStat, err, ErrnoStatus(err, "cannot stat", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(FileReadError::Kind::kNotRegular, 0,
                absl::InvalidArgumentError(path + " is not a regular file"));
  }
  std::string out;
  // Sized from fstat so a file that does not grow while read is never
  // reallocated, which would leave an unwiped copy behind.
  out.reserve(std::min(static_cast<size_t>(st.st_size), max_bytes));
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      OPENSSL_cleanse(buffer, sizeof(buffer));
      OPENSSL_cleanse(out.data(), out.size());
      return fail(FileReadError::Kind::kRead, err, ErrnoStatus(err, "cannot read", path));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      OPENSSL_cleanse(buffer, sizeof(buffer));
      OPENSSL_cleanse(out.data(), out.size());
      return fail(
          FileReadError::Kind::kTooLarge, 0,
          absl::InvalidArgumentError(absl::StrCat(path, " is larger than ", max_bytes, " bytes")));
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buffer, sizeof(buffer));
  return out;
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;  // write() made no progress; retrying would spin.
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::Status CreatePrivateFile(const std::string& dir, const std::string& name,
                               absl::string_view content) {
  const std::string final_path = JoinPath(dir, name);
  const std::string tmp_path =
      JoinPath(dir, absl::StrCat(".", name, ".", absl::BytesToHexString(RandomBytes(6)), ".tmp"));
  Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus(errno, "cannot create", tmp_path);
  // The umask can only clear bits; make the mode exactly 0600 regardless.
  const bool written = ::fchmod(fd.get(), 0600) == 0 && WriteAll(fd.get(), content) &&
                       ::fsync(fd.get()) == 0 && fd.Close() == 0;
  if (!written) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return ErrnoStatus(err, "cannot write", tmp_path);
  }
  const int link_rc = ::link(tmp_path.c_str(), final_path.c_str());
  const int link_errno = errno;
  ::unlink(tmp_path.c_str());
  if (link_rc != 0) return ErrnoStatus(link_errno, "cannot create", final_path);
  SyncDirectory(dir);
  return absl::OkStatus();
}

}  // namespace token
