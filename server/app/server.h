// Server: token-server's serve command as an object. Create builds the parts
// in start-up order (TLS, storage and the revocation feed, the core, gRPC,
// HTTP) and starts listening; Serve runs until SIGTERM/SIGINT, reloading keys
// and TLS material on SIGHUP; Drain stops everything in order.
//
// Usage (server/app/server_app.cc):
//   absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config, clock);
//   if (!server.ok()) return StartExitCode(server.status());
//   (*server)->Serve();
//   (*server)->Drain();
#ifndef TOKEN_SERVER_APP_SERVER_H_
#define TOKEN_SERVER_APP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/token_service.h"
#include "server/app/maintenance.h"
#include "server/common/bounded_executor.h"
#include "server/common/clock.h"
#include "server/config/config.h"
#include "server/health/readiness.h"
#include "server/http/http_server.h"
#include "server/keys/key_watcher.h"
#include "server/metrics/metrics.h"
#include "server/session/access_verifier.h"
#include "server/session/refresh_token.h"
#include "server/session/revocation_set.h"
#include "server/session/session_service.h"
#include "server/session/sweeper.h"
#include "server/store/pg_revocation_feed.h"
#include "server/store/pg_session_store.h"
#include "server/tls/server_tls.h"

namespace token {

// DatabaseUrl: --database-url, or the embedded database's under ./.data.
std::string DatabaseUrl(const ServerConfig& config);

// StartExitCode maps a failed Server::Create to the process exit code:
// INVALID_ARGUMENT is bad configuration (2), anything else a failure (1).
int StartExitCode(const absl::Status& status);

class Server {
 public:
  // Create builds and starts every part; the cause of a failure is logged
  // already, and the status says only which exit code (StartExitCode).
  // REQUIRES: SIGTERM, SIGINT and SIGHUP blocked in every thread
  // (BlockSignals, server_app.h). `clock` must outlive the server.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Create(const ServerConfig& config,
                                                                      const Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serve logs "serving" with the ports bound (grpc_port, http_port: the
  // kernel's choice for a listen address with port 0; tests/e2e reads them),
  // starts the background work (key watcher, TLS reloads, Maintenance) and
  // returns on SIGTERM or SIGINT.
  void Serve();

  // Drain makes the replica unready, lets in-flight gRPC calls finish within
  // the drain timeout, and stops every part.
  void Drain();

 private:
  Server(const ServerConfig& config, const Clock& clock);

  // Each Build step logs its own failure and returns the status Create
  // returns (INVALID_ARGUMENT for bad configuration).
  absl::Status BuildTls();
  absl::Status Migrate();
  absl::Status BuildKeys();
  void BuildStorage();
  void BuildCore();
  absl::Status BuildGrpc();
  absl::Status BuildHttp();

  const ServerConfig config_;
  const Clock& clock_;

  // Members are declared in start-up order, so destruction runs in reverse:
  // the gRPC server (which reads the TLS credential files) goes before TLS.
  std::unique_ptr<tls::ServerTls> tls_;
  std::string transport_;
  std::unique_ptr<KeyWatcher> watcher_;
  std::unique_ptr<RefreshSecretChain> chain_;
  std::shared_ptr<PgSessionStore> store_;
  std::unique_ptr<RevocationSet> revocations_;
  Readiness readiness_;
  Metrics metrics_;
  std::unique_ptr<PgRevocationFeed> feed_;
  std::unique_ptr<SessionService> sessions_;
  std::unique_ptr<AccessVerifier> verifier_;
  std::unique_ptr<Sweeper> sweeper_;
  std::unique_ptr<BoundedExecutor> workers_;
  std::unique_ptr<TokenServiceHandlers> handlers_;
  std::unique_ptr<grpc::Server> grpc_;
  int grpc_port_ = 0;
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<Maintenance> maintenance_;
};

}  // namespace token

#endif  // TOKEN_SERVER_APP_SERVER_H_
