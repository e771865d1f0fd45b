// ServerTls: everything the server needs for TLS, mTLS and per-RPC
// authorization, built from the --tls-* and --authz-policy flags:
//   * gRPC server credentials (grpc::experimental::TlsServerCredentials) fed
//     by a FileWatcherCertificateProvider over the validated credential
//     mirror, requiring and verifying client certificates when a client CA
//     is configured;
//   * the authorization policy (gRPC's SDK policy format, see
//     authz_policy.h), enforced on every call by an AuthMetadataProcessor
//     on those credentials before any handler runs;
//   * the certificate source for HTTPS;
//   * the watcher that reloads all of it without a restart.
#ifndef TOKEN_SERVER_TLS_SERVER_TLS_H_
#define TOKEN_SERVER_TLS_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "server/common/clock.h"
#include "server/tls/authz_enforcer.h"
#include "server/tls/credential_mirror.h"
#include "server/tls/tls_material.h"
#include "server/tls/tls_watcher.h"

namespace token::tls {

struct TlsSettings {
  TlsPaths paths;
  // authz_policy: gRPC authorization policy JSON file; empty = none.
  // REQUIRES: paths.client_ca set when authz_policy is (identities come from
  // client certificates).
  std::string authz_policy;
  // reload_interval: how often files are checked; whole seconds, at least 1.
  absl::Duration reload_interval = absl::Seconds(60);
  // mirror_parent: where the private credential directory is made; empty =
  // $TMPDIR, else /tmp.
  std::string mirror_parent;
};

// ServerTls owns the TLS state for one server.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(settings, clock);
//   builder.AddListeningPort(address, (*tls)->GrpcCredentials());
//   HttpServer http({..., .tls = &(*tls)->certificates()}, ...);
//   (*tls)->Start();
//   ... server->Shutdown(); server.reset(); (*tls)->Stop();
//
// NOTE: gRPC reads the mirror until the grpc::Server built with these
// credentials is destroyed; destroy the server first.
class ServerTls {
 public:
  // Create validates every file and starts nothing yet. Errors:
  // InvalidArgument for a bad or missing certificate, key, CA bundle or
  // policy (the message names the flag and file, never contents); other
  // codes for a failure to set up the credential mirror.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServerTls>> Create(TlsSettings settings,
                                                                         const Clock& clock);
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // GrpcCredentials returns credentials for AddListeningPort; they carry
  // the authorization policy, if any.
  std::shared_ptr<grpc::ServerCredentials> GrpcCredentials() const { return credentials_; }
  // certificates returns the source HTTPS presents on each handshake.
  const TlsMaterialSource& certificates() const { return *watcher_; }
  // mutual is true when client certificates are required and verified.
  bool mutual() const { return !settings_.paths.client_ca.empty(); }
  // authorizes is true when an authorization policy is enforced.
  bool authorizes() const { return enforcer_ != nullptr; }

  void Start() { watcher_->Start(); }
  void Stop() { watcher_->Stop(); }
  // Reload re-checks the files now (SIGHUP); gRPC follows within a second.
  absl::Status Reload() { return watcher_->Reload(); }
  TlsWatcher::Stats stats() const { return watcher_->stats(); }
  // enforcer returns the policy enforcer; null without a policy.
  const AuthzEnforcer* enforcer() const { return enforcer_.get(); }

 private:
  explicit ServerTls(TlsSettings settings);

  // GrpcLibraryRef keeps gRPC initialised for as long as the providers below
  // live (declared first, so destroyed last).
  struct GrpcLibraryRef {
    GrpcLibraryRef();
    ~GrpcLibraryRef();
  };
  GrpcLibraryRef grpc_library_;
  const TlsSettings settings_;
  CredentialMirrorPtr mirror_;
  std::shared_ptr<AuthzEnforcer> enforcer_;
  std::unique_ptr<TlsWatcher> watcher_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_SERVER_TLS_H_
