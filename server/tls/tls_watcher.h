// TlsWatcher: keeps the server's TLS material and authorization policy in
// step with the operator's files without a restart. It re-reads the
// certificate, key, client CA and policy every poll interval; when their
// bytes changed it validates them (TlsMaterial::Parse), publishes the new
// material (to the gRPC credential mirror) and hands it to HTTPS, and hands a
// changed policy to its loader. A replacement that does not validate is
// logged once, naming the file but never its contents, and what is in use is
// kept.
#ifndef TOKEN_SERVER_TLS_TLS_WATCHER_H_
#define TOKEN_SERVER_TLS_TLS_WATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/file_change_detector.h"
#include "server/common/periodic_thread.h"
#include "server/tls/tls_material.h"

namespace token::tls {

// TlsWatcher is the TlsMaterialSource that HTTPS reads on every handshake.
//
// Usage:
//   absl::StatusOr<std::unique_ptr<TlsWatcher>> watcher =
//       TlsWatcher::Create(options, clock, publish, load_policy);
//   (*watcher)->Start();     // background: Poll() every poll_interval
//   ... on SIGHUP: (*watcher)->Reload();
//   (*watcher)->Stop();
class TlsWatcher final : public TlsMaterialSource {
 public:
  struct Options {
    TlsPaths paths;
    // authz_policy: the authorization policy file; empty when there is none.
    std::string authz_policy;
    absl::Duration poll_interval = absl::Seconds(60);
  };

  // Stats count what the watcher did, for tests and logs.
  struct Stats {
    // reloads: new material validated, published and in use (not counting
    // the first load).
    int64_t reloads = 0;
    // rejected: changed files that did not validate or publish (old kept).
    int64_t rejected = 0;
    // policy_reloads / policy_rejected: the same for the policy file.
    int64_t policy_reloads = 0;
    int64_t policy_rejected = 0;
  };

  // Publisher receives each validated material before it becomes Current();
  // an error keeps the previous material and retries at the next poll.
  using Publisher = std::function<absl::Status(const TlsMaterial&)>;
  // PolicyLoader parses and installs a policy document's text; an error
  // keeps the policy in use.
  using PolicyLoader = std::function<absl::Status(const std::string&)>;

  // Create loads, validates and publishes once. Fails (InvalidArgument for
  // bad files, naming them) when the files, or the policy, do not validate:
  // a server must not start with a broken TLS configuration.
  // `clock` must outlive the watcher. `load_policy` may be empty only when
  // options.authz_policy is.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TlsWatcher>> Create(Options options,
                                                                          const Clock& clock,
                                                                          Publisher publish,
                                                                          PolicyLoader load_policy);
  ~TlsWatcher() override;
  TlsWatcher(const TlsWatcher&) = delete;
  TlsWatcher& operator=(const TlsWatcher&) = delete;

  TlsMaterialPtr Current() const override;

  // Poll re-reads the files and applies what changed since the last poll. A
  // broken replacement is reported once per distinct content, not per poll.
  void Poll();
  // Reload polls now and reports again even unchanged broken files (SIGHUP).
  // Returns the state of the certificate files: OK when what is on disk is
  // what serves.
  absl::Status Reload();

  // Start runs Poll() every poll_interval on a background thread until Stop().
  // REQUIRES: called at most once.
  void Start();
  // Stop ends the background thread; idempotent.
  void Stop();

  Stats stats() const;

 private:
  TlsWatcher(Options options, const Clock& clock, Publisher publish, PolicyLoader load_policy);

  absl::Status PollCertificatesLocked(bool initial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PollPolicyLocked(bool initial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const Clock& clock_;
  const Publisher publish_;
  const PolicyLoader load_policy_;

  // mu_ serialises polls; current_mu_ only guards the pointer handshakes read.
  mutable absl::Mutex mu_;
  // Digests of the file contents last applied and last rejected, and the
  // last read error (so one broken replacement is logged once).
  FileChangeDetector certificate_changes_ ABSL_GUARDED_BY(mu_);
  FileChangeDetector policy_changes_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex current_mu_;
  TlsMaterialPtr current_ ABSL_GUARDED_BY(current_mu_);

  PeriodicThread poller_;
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_TLS_WATCHER_H_
