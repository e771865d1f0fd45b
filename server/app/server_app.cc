#include "server/app/server_app.h"

#include <signal.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/token_service.h"
#include "server/common/bounded_executor.h"
#include "server/common/clock.h"
#include "server/common/log.h"
#include "server/common/periodic_thread.h"
#include "server/health/clock_offset.h"
#include "server/health/readiness.h"
#include "server/http/http_server.h"
#include "server/keys/key_directory.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_rotation.h"
#include "server/keys/key_watcher.h"
#include "server/metrics/metrics.h"
#include "server/session/access_verifier.h"
#include "server/session/refresh_token.h"
#include "server/session/request_validation.h"
#include "server/session/revocation_set.h"
#include "server/session/session_service.h"
#include "server/session/sweeper.h"
#include "server/store/migrator.h"
#include "server/store/pg_revocation_feed.h"
#include "server/store/pg_session_store.h"
#include "server/tls/server_tls.h"

namespace token {
namespace {

constexpr absl::Duration kMaintenanceInterval = absl::Seconds(1);
constexpr absl::Duration kSweepInterval = absl::Minutes(1);
constexpr absl::Duration kMigrationAttemptTimeout = absl::Seconds(30);

std::string DatabaseUrl(const ServerConfig& config) {
  return config.database_url.empty() ? EmbeddedDatabaseUrl("./.data") : config.database_url;
}

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
          .max_access_token_bytes = static_cast<size_t>(config.max_token_bytes)};
}

// SetUpTls builds the TLS state from the flags; null for plaintext.
absl::StatusOr<std::unique_ptr<tls::ServerTls>> SetUpTls(const ServerConfig& config,
                                                         const Clock& clock) {
  if (config.tls_cert.empty()) return nullptr;
  return tls::ServerTls::Create(
      {.paths = {.cert = config.tls_cert, .key = config.tls_key, .client_ca = config.tls_client_ca},
       .authz_policy = config.authz_policy,
       .reload_interval = config.tls_reload_interval,
       .mirror_parent = ""},
      clock);
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

int RunMigrate(const ServerConfig& config) {
  absl::StatusOr<std::vector<std::string>> applied =
      ApplyMigrations(DatabaseUrl(config), EmbeddedMigrations(), absl::Now() + absl::Minutes(2));
  if (!applied.ok()) {
    Log(LogLevel::kError, "migration failed", {{"error", std::string(applied.status().message())}});
    return kExitFailure;
  }
  Log(LogLevel::kInfo, "migrations applied", {{"applied", absl::StrJoin(*applied, ",")}});
  return kExitOk;
}

int RunKeygen(const ServerConfig& config) {
  absl::StatusOr<RsaKeyPtr> key = RsaKey::Generate(config.key_bits);
  // The file is named by the time it is written, after the slow generation.
  absl::StatusOr<std::string> path =
      key.ok() ? WriteKeyFile(config.key_dir, **key, absl::Now()) : key.status();
  if (!path.ok()) {
    Log(LogLevel::kError, "keygen failed", {{"error", std::string(path.status().message())}});
    return kExitFailure;
  }
  const std::string name = std::filesystem::path(*path).filename().string();
  const absl::Time created = KeyFileCreatedTime(name).value_or(absl::Now());
  Log(LogLevel::kInfo, "wrote signing key",
      {{"path", *path},
       {"kid", (*key)->kid()},
       {"bits", absl::StrCat((*key)->bits())},
       {"activates_at", absl::FormatTime(absl::RFC3339_sec, created + config.key_publish_period,
                                         absl::UTCTimeZone())}});
  return kExitOk;
}

int RunServe(const ServerConfig& config) {
  if (absl::Status plaintext = CheckPlaintextListen(config); !plaintext.ok()) {
    Log(LogLevel::kError, "refusing to start", {{"error", std::string(plaintext.message())}});
    return kExitBadConfig;
  }
  RealClock clock;
  // TLS first: a bad certificate, key, CA or policy is bad configuration and
  // should not wait for the database.
  absl::StatusOr<std::unique_ptr<tls::ServerTls>> tls_setup = SetUpTls(config, clock);
  if (!tls_setup.ok()) {
    Log(LogLevel::kError, "cannot set up TLS",
        {{"error", std::string(tls_setup.status().message())}});
    return tls_setup.status().code() == absl::StatusCode::kInvalidArgument ? kExitBadConfig
                                                                           : kExitFailure;
  }
  // Declared before the gRPC server, so the server (which reads the TLS
  // credential files) is destroyed first.
  std::unique_ptr<tls::ServerTls> tls = *std::move(tls_setup);
  const std::string transport = TransportMode(config, tls.get());

  const std::string url = DatabaseUrl(config);
  if (config.migrate && !MigrateWithRetry(url)) return kExitFailure;

  absl::StatusOr<std::unique_ptr<KeyWatcher>> key_watcher = LoadKeys(config, clock);
  if (!key_watcher.ok()) {
    Log(LogLevel::kError, "cannot load signing keys",
        {{"error", std::string(key_watcher.status().message())},
         {"hint", KeyLoadHint(config, key_watcher.status())}});
    return KeyLoadExitCode(key_watcher.status());
  }
  absl::StatusOr<std::string> refresh_key =
      LoadRefreshSecret(config.key_dir, /*create_if_missing=*/config.generate_keys);
  if (!refresh_key.ok()) {
    Log(LogLevel::kError, "cannot load the refresh-token secret",
        {{"error", std::string(refresh_key.status().message())},
         {"hint", KeyLoadHint(config, refresh_key.status())}});
    return KeyLoadExitCode(refresh_key.status());
  }
  KeyWatcher& watcher = **key_watcher;
  const KeyProvider& keys = watcher.provider();
  RefreshSecretChain chain(*std::move(refresh_key));

  std::shared_ptr<PgSessionStore> store = PgSessionStore::Create(url, config.db_pool_size);
  RevocationSet revocations(RevocationRetention(config.access_ttl, config.clock_skew),
                            kRevocationFeedMaxStaleness);
  Readiness readiness;
  readiness.Set("signing_key", true, keys.Current()->SigningKeyAt(clock.Now()).kid());
  readiness.Set("database", false, "not checked yet");
  readiness.Set("revocation_feed", false, "not in sync yet");
  readiness.Set("clock", false, "not measured yet");

  Metrics metrics;
  PgRevocationFeed feed(
      url, revocations.retention(), config.clock_skew, clock,
      {
          .on_snapshot = [&](const RevocationSnapshot& s) { revocations.ReplaceAll(s); },
          .on_session =
              [&](const std::string& id, absl::Time at) {
                metrics.RecordRevocationFeedLag(clock.Now() - at);
                revocations.AddSession(id, at);
              },
          .on_subject =
              [&](const std::string& subject, absl::Time at) {
                metrics.RecordRevocationFeedLag(clock.Now() - at);
                revocations.AddSubject(subject, at);
              },
          .on_fresh = [&](absl::Time at) { revocations.MarkFresh(at); },
          .on_lost = [&] { revocations.MarkOutOfSync(); },
          .is_valid_subject = [](absl::string_view s) { return ValidateSubject(s).ok(); },
      });
  feed.Start();

  SessionOptions session_options{
      .issuer = config.issuer,
      .default_audience = config.audience,
      .access_ttl = config.access_ttl,
      .refresh_idle_ttl = config.refresh_idle_ttl,
      .refresh_absolute_ttl = config.refresh_absolute_ttl,
      .reuse_grace = config.reuse_grace,
      .limits = RequestLimitsOf(config),
      .refresh_failures = {.limit = config.refresh_failure_limit,
                           .window = config.refresh_failure_window},
      .max_clock_offset = config.max_clock_offset,
  };
  SessionService sessions(session_options, *store, keys, chain, clock, revocations);
  AccessVerifier verifier({.issuer = config.issuer,
                           .default_audience = config.audience,
                           .clock_skew = config.clock_skew,
                           .access_ttl = config.access_ttl,
                           .limits = RequestLimitsOf(config)},
                          keys, revocations, clock);
  SweeperOptions sweeper_options;
  // A revocation must outlive every access token it can reject.
  sweeper_options.revoked_retention =
      std::max(sweeper_options.revoked_retention, revocations.retention());
  Sweeper sweeper(sweeper_options, *store, clock);

  auto workers = std::make_unique<BoundedExecutor>(config.db_pool_size, config.max_pending_calls);
  TokenServiceHandlers handlers(sessions, verifier, *workers, clock, metrics);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(
      config.grpc_listen,
      tls != nullptr ? tls->GrpcCredentials() : grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&handlers);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    Log(LogLevel::kError, "cannot listen for gRPC", {{"address", config.grpc_listen}});
    return kExitFailure;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);

  HttpServer http({.listen = config.http_listen,
                   .jwks_max_age = JwksMaxAge(config.key_publish_period),
                   .tls = tls != nullptr ? &tls->certificates() : nullptr},
                  keys, readiness, [&] { return metrics.Render(); });
  metrics.SetScrapeHook([&](Metrics& m) {
    RefreshGauges(m, readiness, revocations, *store, *workers, watcher, clock.Now());
  });
  if (absl::Status s = http.Start(); !s.ok()) {
    Log(LogLevel::kError, "cannot listen for HTTP", {{"error", std::string(s.message())}});
    server->Shutdown();
    return kExitFailure;
  }
  Log(LogLevel::kInfo, "serving",
      {{"grpc_port", absl::StrCat(grpc_port)},
       {"http_port", absl::StrCat(http.port())},
       {"transport", transport},
       {"kid", keys.Current()->SigningKeyAt(clock.Now()).kid()}});
  // Key states follow the clock and the key directory from here on, and
  // TLS material its files.
  watcher.Start();
  if (tls != nullptr) tls->Start();

  // Maintenance: readiness probes, gRPC health, revocation pruning, sweeping.
  PeriodicThread maintenance;
  maintenance.Start(kMaintenanceInterval, [&, next_sweep = clock.Now() + kSweepInterval]() mutable {
    // The database check also measures this replica's clock against it.
    const absl::Time sent = clock.Now();
    const absl::StatusOr<absl::Time> db_clock =
        store->DatabaseClock(absl::Now() + absl::Seconds(1));
    const absl::Status db = db_clock.status();
    readiness.Set("database", db.ok(), db.ok() ? "ok" : std::string(db.message()));
    if (db_clock.ok()) {
      const ClockOffsetCheck offset =
          CheckClockOffset(sent, clock.Now(), *db_clock, config.max_clock_offset);
      if (!offset.ok) {
        Log(LogLevel::kError, "clock offset from the database is beyond the bound",
            {{"detail", offset.detail}});
      }
      readiness.Set("clock", offset.ok, offset.detail);
    }
    const bool feed_in_sync = revocations.InSync(clock.Now());
    readiness.Set("revocation_feed", feed_in_sync, feed_in_sync ? "in sync" : "resynchronising");
    health->SetServingStatus(readiness.ready());
    readiness.Set("signing_key", true, keys.Current()->SigningKeyAt(clock.Now()).kid());
    revocations.Prune(clock.Now());
    if (clock.Now() >= next_sweep && db.ok()) {
      next_sweep = clock.Now() + kSweepInterval;
      absl::StatusOr<int64_t> swept = sweeper.RunOnce();
      if (swept.ok() && *swept > 0) {
        Log(LogLevel::kInfo, "swept sessions", {{"deleted", absl::StrCat(*swept)}});
      }
    }
  });

  for (;;) {
    const int sig = WaitForSignal(absl::Hours(1));
    if (sig == SIGHUP) {
      // Each logs its outcome; a failure keeps the keys (certificate) in use.
      (void)watcher.Reload();
      if (tls != nullptr) (void)tls->Reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      break;
    }
  }

  Log(LogLevel::kInfo, "draining", {{"timeout", absl::FormatDuration(config.drain_timeout)}});
  readiness.SetDraining();
  health->SetServingStatus(false);
  server->Shutdown(absl::ToChronoTime(absl::Now() + config.drain_timeout));
  Log(LogLevel::kInfo, "gRPC server stopped");
  maintenance.Stop();
  watcher.Stop();
  http.Stop();
  if (tls != nullptr) tls->Stop();
  workers.reset();  // Finishes queued work; none remains after Shutdown.
  Log(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace token
