// CredentialMirror: a private directory holding the last *validated* TLS
// material, which gRPC's FileWatcherCertificateProvider watches.
//
// Why not point gRPC at the operator's files directly? gRPC 1.51's file
// watcher hands whatever bytes it reads to the TLS stack without checking
// them: a half-written, corrupt or mismatched replacement would break every
// new handshake. TlsWatcher validates the operator's files first and only
// then publishes them here, so a broken replacement never reaches gRPC and
// the previous certificate keeps serving.
#ifndef TOKEN_SERVER_TLS_CREDENTIAL_MIRROR_H_
#define TOKEN_SERVER_TLS_CREDENTIAL_MIRROR_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/tls/tls_material.h"

namespace token::tls {

class CredentialMirror;
using CredentialMirrorPtr = std::unique_ptr<CredentialMirror>;

// CredentialMirror writes two files into a fresh directory (mode 0700):
//   identity.pem   certificate chain followed by the private key (0600)
//   client-ca.pem  the client CA bundle (0644), only with mTLS
// Each file is replaced by rename(2), so a reader sees the old or the new
// file, never a mix. The identity is one file, not two, so the key and the
// chain always belong together; and every publication gets a modification
// time at least one whole second later than the previous one, which is what
// gRPC's reader compares before and after reading to detect a concurrent
// replacement.
//
// Usage:
//   absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_dir);
//   (*mirror)->Publish(*material);
//   FileWatcherCertificateProvider((*mirror)->identity_path(),
//                                  (*mirror)->identity_path(), ...);
//
// NOTE: the directory holds a copy of the private key for as long as the
// server runs; it is removed when the mirror is destroyed.
class CredentialMirror {
 public:
  // Create makes a new directory inside `parent` (which must exist).
  [[nodiscard]] static absl::StatusOr<CredentialMirrorPtr> Create(const std::string& parent);
  ~CredentialMirror();
  CredentialMirror(const CredentialMirror&) = delete;
  CredentialMirror& operator=(const CredentialMirror&) = delete;

  // Publish writes `material` (thread-safe). On failure the files keep their
  // previous contents.
  absl::Status Publish(const TlsMaterial& material);

  const std::string& dir() const { return dir_; }
  std::string identity_path() const { return dir_ + "/identity.pem"; }
  std::string client_ca_path() const { return dir_ + "/client-ca.pem"; }

 private:
  explicit CredentialMirror(std::string dir) : dir_(std::move(dir)) {}

  // Replace writes `contents` to `name` via a temporary file and rename.
  absl::Status ReplaceLocked(const std::string& name, const std::string& contents, int mode,
                             absl::Time mtime) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  absl::Mutex mu_;
  absl::Time last_mtime_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_CREDENTIAL_MIRROR_H_
