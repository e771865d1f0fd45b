#include "server/tls/server_tls.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace token::tls {
namespace {

// How often gRPC re-reads the mirror. The mirror is a local private
// directory that only changes after validation, so reading it every second
// costs little and makes a reload take effect within the reload interval
// plus one second.
constexpr unsigned int kMirrorRefreshSeconds = 1;

std::string MirrorParent(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

}  // namespace

ServerTls::GrpcLibraryRef::GrpcLibraryRef() { grpc_init(); }
ServerTls::GrpcLibraryRef::~GrpcLibraryRef() { grpc_shutdown(); }

ServerTls::ServerTls(TlsSettings settings) : settings_(std::move(settings)) {}

ServerTls::~ServerTls() {
  if (watcher_ != nullptr) watcher_->Stop();
}

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Create(TlsSettings settings,
                                                             const Clock& clock) {
  if (settings.paths.cert.empty() || settings.paths.key.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
  }
  if (!settings.authz_policy.empty() && settings.paths.client_ca.empty()) {
    return absl::InvalidArgumentError(
        "--authz-policy needs --tls-client-ca: the policy matches client-certificate identities");
  }
  std::unique_ptr<ServerTls> tls(new ServerTls(std::move(settings)));
  const TlsSettings& s = tls->settings_;

  absl::StatusOr<CredentialMirrorPtr> mirror =
      CredentialMirror::Create(MirrorParent(s.mirror_parent));
  if (!mirror.ok()) return mirror.status();
  tls->mirror_ = *std::move(mirror);
  CredentialMirror* raw_mirror = tls->mirror_.get();

  TlsWatcher::PolicyLoader load_policy;
  if (!s.authz_policy.empty()) {
    // Denies everything until the watcher's first load installs the policy.
    tls->enforcer_ = std::make_shared<AuthzEnforcer>(nullptr);
    AuthzEnforcer* enforcer = tls->enforcer_.get();
    load_policy = [enforcer](const std::string& text) {
      absl::StatusOr<AuthzPolicyPtr> policy = AuthzPolicy::Parse(text);
      if (!policy.ok()) return policy.status();
      enforcer->Set(*std::move(policy));
      return absl::OkStatus();
    };
  }
  absl::StatusOr<std::unique_ptr<TlsWatcher>> watcher = TlsWatcher::Create(
      {.paths = s.paths, .authz_policy = s.authz_policy, .poll_interval = s.reload_interval}, clock,
      [raw_mirror](const TlsMaterial& material) { return raw_mirror->Publish(material); },
      std::move(load_policy));
  if (!watcher.ok()) return watcher.status();
  tls->watcher_ = *std::move(watcher);

  // One file for key and chain, read as both: see credential_mirror.h.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      raw_mirror->identity_path(), raw_mirror->identity_path(),
      tls->mutual() ? raw_mirror->client_ca_path() : "", kMirrorRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (tls->mutual()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  tls->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (tls->credentials_ == nullptr) {
    return absl::InternalError("gRPC refused the TLS server credentials");
  }
  if (tls->enforcer_ != nullptr) tls->credentials_->SetAuthMetadataProcessor(tls->enforcer_);
  return tls;
}

}  // namespace token::tls
