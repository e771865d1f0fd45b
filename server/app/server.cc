#include "server/app/server.h"

#include <signal.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "server/app/server_app.h"
#include "server/common/log.h"
#include "server/keys/key_directory.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_rotation.h"
#include "server/session/request_validation.h"
#include "server/store/migrator.h"

namespace token {
namespace {

constexpr absl::Duration kMaintenanceInterval = absl::Seconds(1);
constexpr absl::Duration kSweepInterval = absl::Minutes(1);
constexpr absl::Duration kMigrationAttemptTimeout = absl::Seconds(30);

sigset_t ServeSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// WaitForSignal returns the next of SIGTERM/SIGINT/SIGHUP, or 0 after `timeout`.
int WaitForSignal(absl::Duration timeout) {
  const sigset_t set = ServeSignals();
  const timespec ts = absl::ToTimespec(timeout);
  const int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

// ExitStatus: what Create returns for a failure that exits with `exit_code`
// (see StartExitCode).
absl::Status ExitStatus(int exit_code, absl::string_view message) {
  return exit_code == kExitBadConfig ? absl::InvalidArgumentError(message)
                                     : absl::UnavailableError(message);
}

// Migrations at start-up are retried while the database is unreachable (it
// often starts alongside us); a stop signal ends the wait.
bool MigrateWithRetry(const std::string& url) {
  for (;;) {
    absl::StatusOr<std::vector<std::string>> applied =
        ApplyMigrations(url, EmbeddedMigrations(), absl::Now() + kMigrationAttemptTimeout);
    if (applied.ok()) {
      Log(LogLevel::kInfo, "database schema is current",
          {{"applied", absl::StrJoin(*applied, ",")}});
      return true;
    }
    if (applied.status().code() == absl::StatusCode::kFailedPrecondition) {
      Log(LogLevel::kError, "migration refused",
          {{"error", std::string(applied.status().message())}});
      return false;
    }
    Log(LogLevel::kWarning, "migration failed; retrying",
        {{"error", std::string(applied.status().message())}});
    const int sig = WaitForSignal(absl::Seconds(1));
    if (sig == SIGTERM || sig == SIGINT) return false;
  }
}

RotationPolicy KeyRotationPolicy(const ServerConfig& config) {
  // A key stays published until the last token it signed has expired,
  // including the verifier's leeway.
  return {.publish_period = config.key_publish_period,
          .retire_after = config.access_ttl + config.clock_skew};
}

// LoadKeys generates a key into an empty directory only with --generate-keys:
// replicas that each generated their own would reject each other's tokens.
absl::StatusOr<std::unique_ptr<KeyWatcher>> LoadKeys(const ServerConfig& config,
                                                     const Clock& clock) {
  if (config.generate_keys) {
    absl::StatusOr<bool> created = EnsureDevKey(config.key_dir, clock.Now());
    if (!created.ok()) return created.status();
    if (*created) {
      Log(LogLevel::kWarning, "generated a development signing key", {{"dir", config.key_dir}});
    }
  }
  return KeyWatcher::Create({.dir = config.key_dir, .policy = KeyRotationPolicy(config)}, clock);
}

// KeyLoadExitCode: missing key material (without --generate-keys) and unsafe
// permissions are the operator's to fix, i.e. bad configuration.
int KeyLoadExitCode(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsPermissionDenied(status) ? kExitBadConfig
                                                                      : kExitFailure;
}

std::string KeyLoadHint(const ServerConfig& config, const absl::Status& status) {
  if (!absl::IsNotFound(status) || config.generate_keys) return "";
  return "mount the key Secret (docs/KEY_ROTATION.md), or pass --generate-keys to create "
         "development keys";
}

// RefreshGauges sets the point-in-time metrics; runs on every scrape.
void RefreshGauges(Metrics& metrics, const Readiness& readiness, const RevocationSet& revocations,
                   const PgSessionStore& store, const BoundedExecutor& workers,
                   const KeyWatcher& watcher, absl::Time now) {
  const PgPool::Stats pool = store.pool_stats();
  metrics.SetReady(readiness.ready());
  metrics.SetPool(
      {.size = pool.size, .in_use = pool.in_use, .connected = pool.connected, .waits = pool.waits});
  metrics.SetWorkerQueue(workers.queued());
  metrics.SetRevocations(revocations.size(), revocations.InSync(now));
  std::vector<KeySample> keys;
  for (const KeyStatus& status : watcher.statuses()) {
    if (status.state == KeyState::kRetired) continue;
    keys.push_back({status.kid, std::string(KeyStateName(status.state)), now - status.created});
  }
  metrics.SetKeys(keys);
}

RequestLimits RequestLimitsOf(const ServerConfig& config) {
  return {.max_roles = static_cast<size_t>(config.max_roles),
          .max_role_bytes = static_cast<size_t>(config.max_role_bytes),
          .max_user_agent_bytes = static_cast<size_t>(config.max_user_agent_bytes),
          .max_access_token_bytes = static_cast<size_t>(config.max_token_bytes),
          .max_claims_bytes = static_cast<size_t>(config.max_claims_bytes)};
}

// TransportMode names the set-up for logs, and warns about the open ones.
std::string TransportMode(const ServerConfig& config, const tls::ServerTls* tls) {
  if (tls == nullptr) {
    // Only reached off loopback with --insecure-plaintext (CheckPlaintextListen).
    if (!IsLoopbackListen(config.grpc_listen) || !IsLoopbackListen(config.http_listen)) {
      Log(LogLevel::kWarning,
          "--insecure-plaintext: plaintext on a non-loopback address, every caller may call "
          "every RPC (see --tls-cert, --tls-client-ca, --authz-policy)",
          {{"grpc_address", config.grpc_listen}, {"http_address", config.http_listen}});
    }
    return "plaintext";
  }
  if (!tls->mutual()) {
    Log(LogLevel::kWarning,
        "TLS without client certificates: every caller may call every RPC, IssueTokens included "
        "(see --tls-client-ca, --authz-policy)");
    return "tls";
  }
  if (!tls->authorizes()) {
    Log(LogLevel::kWarning,
        "mTLS without --authz-policy: every certificate the client CA signed may call every RPC");
    return "mtls";
  }
  return "mtls+authz";
}

}  // namespace

void BlockSignals() {
  const sigset_t set = ServeSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string DatabaseUrl(const ServerConfig& config) {
  return config.database_url.empty() ? EmbeddedDatabaseUrl("./.data") : config.database_url;
}

int StartExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return absl::IsInvalidArgument(status) ? kExitBadConfig : kExitFailure;
}

Server::Server(const ServerConfig& config, const Clock& clock) : config_(config), clock_(clock) {}

Server::~Server() = default;

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerConfig& config,
                                                       const Clock& clock) {
  if (absl::Status plaintext = CheckPlaintextListen(config); !plaintext.ok()) {
    Log(LogLevel::kError, "refusing to start", {{"error", std::string(plaintext.message())}});
    return ExitStatus(kExitBadConfig, plaintext.message());
  }
  std::unique_ptr<Server> server(new Server(config, clock));
  // TLS first: a bad certificate, key, CA or policy is bad configuration and
  // should not wait for the database.
  if (absl::Status s = server->BuildTls(); !s.ok()) return s;
  if (absl::Status s = server->Migrate(); !s.ok()) return s;
  if (absl::Status s = server->BuildKeys(); !s.ok()) return s;
  server->BuildStorage();
  server->BuildCore();
  if (absl::Status s = server->BuildGrpc(); !s.ok()) return s;
  if (absl::Status s = server->BuildHttp(); !s.ok()) return s;
  return server;
}

// BuildTls builds the TLS state from the flags; none for plaintext.
absl::Status Server::BuildTls() {
  if (!config_.tls_cert.empty()) {
    absl::StatusOr<std::unique_ptr<tls::ServerTls>> tls =
        tls::ServerTls::Create({.paths = {.cert = config_.tls_cert,
                                          .key = config_.tls_key,
                                          .client_ca = config_.tls_client_ca},
                                .authz_policy = config_.authz_policy,
                                .reload_interval = config_.tls_reload_interval,
                                .mirror_parent = ""},
                               clock_);
    if (!tls.ok()) {
      Log(LogLevel::kError, "cannot set up TLS", {{"error", std::string(tls.status().message())}});
      return ExitStatus(absl::IsInvalidArgument(tls.status()) ? kExitBadConfig : kExitFailure,
                        tls.status().message());
    }
    tls_ = *std::move(tls);
  }
  transport_ = TransportMode(config_, tls_.get());
  return absl::OkStatus();
}

absl::Status Server::Migrate() {
  if (config_.migrate && !MigrateWithRetry(DatabaseUrl(config_))) {
    return ExitStatus(kExitFailure, "migration did not complete");
  }
  return absl::OkStatus();
}

absl::Status Server::BuildKeys() {
  absl::StatusOr<std::unique_ptr<KeyWatcher>> watcher = LoadKeys(config_, clock_);
  if (!watcher.ok()) {
    Log(LogLevel::kError, "cannot load signing keys",
        {{"error", std::string(watcher.status().message())},
         {"hint", KeyLoadHint(config_, watcher.status())}});
    return ExitStatus(KeyLoadExitCode(watcher.status()), watcher.status().message());
  }
  watcher_ = *std::move(watcher);
  absl::StatusOr<std::string> refresh_key =
      LoadRefreshSecret(config_.key_dir, /*create_if_missing=*/config_.generate_keys);
  if (!refresh_key.ok()) {
    Log(LogLevel::kError, "cannot load the refresh-token secret",
        {{"error", std::string(refresh_key.status().message())},
         {"hint", KeyLoadHint(config_, refresh_key.status())}});
    return ExitStatus(KeyLoadExitCode(refresh_key.status()), refresh_key.status().message());
  }
  chain_ = std::make_unique<RefreshSecretChain>(*std::move(refresh_key));
  return absl::OkStatus();
}

// BuildStorage opens the store and starts the revocation feed that keeps the
// RevocationSet current.
void Server::BuildStorage() {
  const std::string url = DatabaseUrl(config_);
  store_ = PgSessionStore::Create(url, config_.db_pool_size);
  revocations_ = std::make_unique<RevocationSet>(
      RevocationRetention(config_.access_ttl, config_.clock_skew), kRevocationFeedMaxStaleness);
  const KeyProvider& keys = watcher_->provider();
  readiness_.Set("signing_key", true, keys.Current()->SigningKeyAt(clock_.Now()).kid());
  readiness_.Set("database", false, "not checked yet");
  readiness_.Set("revocation_feed", false, "not in sync yet");
  readiness_.Set("clock", false, "not measured yet");

  feed_ = std::make_unique<PgRevocationFeed>(
      url, revocations_->retention(), config_.clock_skew, clock_,
      PgRevocationFeed::Callbacks{
          .on_snapshot = [this](const RevocationSnapshot& s) { revocations_->ReplaceAll(s); },
          .on_session =
              [this](const std::string& id, absl::Time at) {
                metrics_.RecordRevocationFeedLag(clock_.Now() - at);
                revocations_->AddSession(id, at);
              },
          .on_subject =
              [this](const std::string& subject, absl::Time at) {
                metrics_.RecordRevocationFeedLag(clock_.Now() - at);
                revocations_->AddSubject(subject, at);
              },
          .on_fresh = [this](absl::Time at) { revocations_->MarkFresh(at); },
          .on_lost = [this] { revocations_->MarkOutOfSync(); },
          .is_valid_subject = [](absl::string_view s) { return ValidateSubject(s).ok(); },
      });
  feed_->Start();
}

// BuildCore: the session service, the access verifier, the sweeper and the
// workers the gRPC handlers run on.
void Server::BuildCore() {
  const KeyProvider& keys = watcher_->provider();
  SessionOptions session_options{
      .issuer = config_.issuer,
      .default_audience = config_.audience,
      .access_ttl = config_.access_ttl,
      .refresh_idle_ttl = config_.refresh_idle_ttl,
      .refresh_absolute_ttl = config_.refresh_absolute_ttl,
      .reuse_grace = config_.reuse_grace,
      .limits = RequestLimitsOf(config_),
      .refresh_failures = {.limit = config_.refresh_failure_limit,
                           .window = config_.refresh_failure_window},
      .max_clock_offset = config_.max_clock_offset,
      .clock_skew = config_.clock_skew,
  };
  sessions_ = std::make_unique<SessionService>(session_options, *store_, keys, *chain_, clock_,
                                               *revocations_);
  verifier_ =
      std::make_unique<AccessVerifier>(AccessVerifierOptions{.issuer = config_.issuer,
                                                             .default_audience = config_.audience,
                                                             .clock_skew = config_.clock_skew,
                                                             .access_ttl = config_.access_ttl,
                                                             .limits = RequestLimitsOf(config_)},
                                       keys, *revocations_, clock_);
  SweeperOptions sweeper_options;
  // A revocation must outlive every access token it can reject.
  sweeper_options.revoked_retention =
      std::max(sweeper_options.revoked_retention, revocations_->retention());
  sweeper_ = std::make_unique<Sweeper>(sweeper_options, *store_, clock_);

  workers_ = std::make_unique<BoundedExecutor>(config_.db_pool_size, config_.max_pending_calls);
  handlers_ =
      std::make_unique<TokenServiceHandlers>(*sessions_, *verifier_, *workers_, clock_, metrics_);
}

absl::Status Server::BuildGrpc() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      config_.grpc_listen,
      tls_ != nullptr ? tls_->GrpcCredentials() : grpc::InsecureServerCredentials(), &grpc_port_);
  builder.RegisterService(handlers_.get());
  builder.SetMaxReceiveMessageSize(config_.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config_.max_concurrent_streams);
  grpc_ = builder.BuildAndStart();
  if (grpc_ == nullptr || grpc_port_ == 0) {
    Log(LogLevel::kError, "cannot listen for gRPC", {{"address", config_.grpc_listen}});
    return ExitStatus(kExitFailure, "cannot listen for gRPC");
  }
  health_ = grpc_->GetHealthCheckService();
  health_->SetServingStatus(false);
  return absl::OkStatus();
}

absl::Status Server::BuildHttp() {
  http_ = std::make_unique<HttpServer>(
      HttpServer::Options{.listen = config_.http_listen,
                          .jwks_max_age = JwksMaxAge(config_.key_publish_period),
                          .tls = tls_ != nullptr ? &tls_->certificates() : nullptr},
      watcher_->provider(), readiness_, [this] { return metrics_.Render(); });
  metrics_.SetScrapeHook([this](Metrics& m) {
    RefreshGauges(m, readiness_, *revocations_, *store_, *workers_, *watcher_, clock_.Now());
  });
  if (absl::Status s = http_->Start(); !s.ok()) {
    Log(LogLevel::kError, "cannot listen for HTTP", {{"error", std::string(s.message())}});
    grpc_->Shutdown();
    return ExitStatus(kExitFailure, s.message());
  }
  return absl::OkStatus();
}

void Server::Serve() {
  const KeyProvider& keys = watcher_->provider();
  Log(LogLevel::kInfo, "serving",
      {{"grpc_port", absl::StrCat(grpc_port_)},
       {"http_port", absl::StrCat(http_->port())},
       {"transport", transport_},
       {"kid", keys.Current()->SigningKeyAt(clock_.Now()).kid()}});
  // Key states follow the clock and the key directory from here on, and
  // TLS material its files.
  watcher_->Start();
  if (tls_ != nullptr) tls_->Start();

  maintenance_ = std::make_unique<Maintenance>(
      Maintenance::Options{.max_clock_offset = config_.max_clock_offset,
                           .sweep_interval = kSweepInterval},
      *store_, *sweeper_, readiness_, *revocations_, keys,
      [health = health_](bool serving) { health->SetServingStatus(serving); }, clock_);
  maintenance_->Start(kMaintenanceInterval);

  for (;;) {
    const int sig = WaitForSignal(absl::Hours(1));
    if (sig == SIGHUP) {
      // Each logs its outcome; a failure keeps the keys (certificate) in use.
      (void)watcher_->Reload();
      if (tls_ != nullptr) (void)tls_->Reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      break;
    }
  }
}

void Server::Drain() {
  Log(LogLevel::kInfo, "draining", {{"timeout", absl::FormatDuration(config_.drain_timeout)}});
  readiness_.SetDraining();
  health_->SetServingStatus(false);
  grpc_->Shutdown(absl::ToChronoTime(absl::Now() + config_.drain_timeout));
  Log(LogLevel::kInfo, "gRPC server stopped");
  if (maintenance_ != nullptr) maintenance_->Stop();
  watcher_->Stop();
  http_->Stop();
  if (tls_ != nullptr) tls_->Stop();
  workers_.reset();  // Finishes queued work; none remains after Shutdown.
  Log(LogLevel::kInfo, "stopped");
}

}  // namespace token
