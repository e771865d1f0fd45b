#include "server/tls/tls_watcher.h"

#include <openssl/evp.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/file_io.h"
#include "server/common/log.h"
#include "server/common/openssl_ptr.h"

namespace token::tls {
namespace {

// Digest identifies file contents without keeping them around.
std::string Digest(std::initializer_list<const std::string*> parts) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return "";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  bool ok = EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (const std::string* part : parts) {
    // Length-prefixed, so moving bytes between files changes the digest.
    const std::string size = absl::StrCat(part->size(), ":");
    ok = ok && EVP_DigestUpdate(ctx.get(), size.data(), size.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), part->data(), part->size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md, &length) == 1;
  if (!ok) return "";
  return std::string(reinterpret_cast<const char*>(md), length);
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// ReadPolicy reads the policy file, bounded like the TLS files; every
// failure is reported as "cannot read", naming the file only.
absl::StatusOr<std::string> ReadPolicy(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path, kMaxTlsFileBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--authz-policy ", path, ": cannot read"));
  }
  return text;
}

void LogLoaded(absl::string_view message, const TlsMaterial& material, absl::Time now) {
  Log(LogLevel::kInfo, message,
      {{"serial", material.leaf_serial()},
       {"sha256", material.leaf_sha256()},
       {"not_after", TimeText(material.not_after())},
       {"client_cas", absl::StrCat(material.client_ca_count())}});
  if (material.not_before() > now) {
    Log(LogLevel::kWarning, "TLS certificate is not valid yet; clients will reject it until then",
        {{"serial", material.leaf_serial()}, {"not_before", TimeText(material.not_before())}});
  }
  if (material.not_after() - now < absl::Hours(24 * 7)) {
    Log(LogLevel::kWarning, "TLS certificate expires within 7 days",
        {{"serial", material.leaf_serial()}, {"not_after", TimeText(material.not_after())}});
  }
}

}  // namespace

TlsWatcher::TlsWatcher(Options options, const Clock& clock, Publisher publish,
                       PolicyLoader load_policy)
    : options_(std::move(options)),
      clock_(clock),
      publish_(std::move(publish)),
      load_policy_(std::move(load_policy)) {}

TlsWatcher::~TlsWatcher() { Stop(); }

absl::StatusOr<std::unique_ptr<TlsWatcher>> TlsWatcher::Create(Options options, const Clock& clock,
                                                               Publisher publish,
                                                               PolicyLoader load_policy) {
  if (!options.authz_policy.empty() && !load_policy) {
    return absl::InvalidArgumentError("an authorization policy needs a loader");
  }
  std::unique_ptr<TlsWatcher> watcher(
      new TlsWatcher(std::move(options), clock, std::move(publish), std::move(load_policy)));
  absl::MutexLock lock(&watcher->mu_);
  if (absl::Status s = watcher->PollCertificatesLocked(/*initial=*/true); !s.ok()) return s;
  if (absl::Status s = watcher->PollPolicyLocked(/*initial=*/true); !s.ok()) return s;
  return watcher;
}

TlsMaterialPtr TlsWatcher::Current() const {
  absl::MutexLock lock(&current_mu_);
  return current_;
}

absl::Status TlsWatcher::PollCertificatesLocked(bool initial) {
  absl::StatusOr<TlsFileContents> contents = ReadTlsFiles(options_.paths);
  if (!contents.ok()) {
    if (initial) return contents.status();
    const std::string error(contents.status().message());
    if (certificate_changes_.ReadFailed(error)) {
      ++stats_.rejected;
      Log(LogLevel::kWarning, "TLS files unreadable; keeping the certificate in use",
          {{"error", error}});
    }
    return contents.status();
  }
  certificate_changes_.ReadSucceeded();
  const std::string digest = Digest({&contents->cert, &contents->key, &contents->client_ca});
  if (!initial) {
    switch (certificate_changes_.Classify(digest)) {
      case FileChangeDetector::Verdict::kApplied:
        return absl::OkStatus();
      case FileChangeDetector::Verdict::kRejected:
        return absl::FailedPreconditionError("the TLS files on disk were rejected");
      case FileChangeDetector::Verdict::kNew:
        break;
    }
  }
  const absl::Time now = clock_.Now();
  absl::StatusOr<TlsMaterialPtr> material = TlsMaterial::Parse(options_.paths, *contents, now);
  absl::Status published = material.ok() ? publish_(**material) : material.status();
  if (!published.ok()) {
    if (initial) return published;
    ++stats_.rejected;
    // A publication failure (disk) is retried at the next poll; a file that
    // does not validate waits until it changes.
    if (material.ok()) {
      Log(LogLevel::kError, "cannot publish the new TLS certificate; keeping the one in use",
          {{"error", std::string(published.message())}});
    } else {
      certificate_changes_.Rejected(digest);
      Log(LogLevel::kWarning, "TLS files rejected; keeping the certificate in use",
          {{"error", std::string(published.message())}});
    }
    return published;
  }
  {
    absl::MutexLock lock(&current_mu_);
    current_ = *material;
  }
  certificate_changes_.Applied(digest);
  if (!initial) ++stats_.reloads;
  LogLoaded(initial ? "TLS certificate loaded" : "TLS certificate reloaded", **material, now);
  return absl::OkStatus();
}

absl::Status TlsWatcher::PollPolicyLocked(bool initial) {
  if (options_.authz_policy.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadPolicy(options_.authz_policy);
  if (!text.ok()) {
    if (initial) return text.status();
    const std::string error(text.status().message());
    if (policy_changes_.ReadFailed(error)) {
      ++stats_.policy_rejected;
      Log(LogLevel::kWarning, "authorization policy unreadable; keeping the policy in use",
          {{"error", error}});
    }
    return text.status();
  }
  policy_changes_.ReadSucceeded();
  const std::string digest = Digest({&*text});
  if (!initial && policy_changes_.Classify(digest) != FileChangeDetector::Verdict::kNew) {
    return absl::OkStatus();
  }
  if (absl::Status valid = load_policy_(*text); !valid.ok()) {
    const std::string error =
        absl::StrCat("--authz-policy ", options_.authz_policy, ": ", valid.message());
    if (initial) return absl::InvalidArgumentError(error);
    policy_changes_.Rejected(digest);
    ++stats_.policy_rejected;
    Log(LogLevel::kWarning, "authorization policy rejected; keeping the policy in use",
        {{"error", error}});
    return absl::OkStatus();
  }
  policy_changes_.Applied(digest);
  if (!initial) ++stats_.policy_reloads;
  Log(LogLevel::kInfo, initial ? "authorization policy loaded" : "authorization policy reloaded",
      {{"file", options_.authz_policy}});
  return absl::OkStatus();
}

void TlsWatcher::Poll() {
  absl::MutexLock lock(&mu_);
  (void)PollCertificatesLocked(/*initial=*/false);
  (void)PollPolicyLocked(/*initial=*/false);
}

absl::Status TlsWatcher::Reload() {
  absl::MutexLock lock(&mu_);
  certificate_changes_.ForgetFailures();
  policy_changes_.ForgetFailures();
  absl::Status certificates = PollCertificatesLocked(/*initial=*/false);
  (void)PollPolicyLocked(/*initial=*/false);
  return certificates;
}

void TlsWatcher::Start() {
  poller_.Start(options_.poll_interval, [this] { Poll(); });
}

void TlsWatcher::Stop() { poller_.Stop(); }

TlsWatcher::Stats TlsWatcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace token::tls
