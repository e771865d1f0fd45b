#include "server/tls/credential_mirror.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/file_io.h"

namespace token::tls {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<CredentialMirrorPtr> CredentialMirror::Create(const std::string& parent) {
  std::string pattern = (std::filesystem::path(parent) / "token-server-tls-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError("cannot create a private TLS directory in", parent);
  }
  // mkdtemp already uses 0700; say so explicitly in case of an odd umask.
  if (chmod(pattern.c_str(), 0700) != 0) {
    absl::Status error = ErrnoError("cannot chmod", pattern);
    rmdir(pattern.c_str());
    return error;
  }
  return CredentialMirrorPtr(new CredentialMirror(std::move(pattern)));
}

CredentialMirror::~CredentialMirror() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

absl::Status CredentialMirror::ReplaceLocked(const std::string& name, const std::string& contents,
                                             int mode, absl::Time mtime) {
  const std::string path = absl::StrCat(dir_, "/", name);
  const std::string temp = path + ".tmp";
  unlink(temp.c_str());
  Fd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return ErrnoError("cannot create", temp);
  absl::Status status = absl::OkStatus();
  if (!WriteAll(fd.get(), contents)) status = ErrnoError("cannot write", temp);
  if (status.ok() && fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    status = ErrnoError("cannot chmod", temp);
  }
  if (status.ok()) {
    const timespec times[2] = {absl::ToTimespec(mtime), absl::ToTimespec(mtime)};
    if (futimens(fd.get(), times) != 0) status = ErrnoError("cannot set the time of", temp);
  }
  if (fd.Close() != 0 && status.ok()) status = ErrnoError("cannot close", temp);
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot rename into", path);
  }
  if (!status.ok()) unlink(temp.c_str());
  return status;
}

absl::Status CredentialMirror::Publish(const TlsMaterial& material) {
  absl::MutexLock lock(&mu_);
  // Whole seconds, strictly increasing: gRPC compares st_mtime (seconds)
  // before and after it reads, so two publications in one second must still
  // look different to it.
  absl::Time mtime = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  if (mtime <= last_mtime_) mtime = last_mtime_ + absl::Seconds(1);
  if (material.has_client_ca()) {
    absl::Status s = ReplaceLocked("client-ca.pem", material.client_ca_pem(), 0644, mtime);
    if (!s.ok()) return s;
  }
  absl::Status s = ReplaceLocked("identity.pem", material.identity_pem(), 0600, mtime);
  if (!s.ok()) return s;
  last_mtime_ = mtime;
  return absl::OkStatus();
}

}  // namespace token::tls
