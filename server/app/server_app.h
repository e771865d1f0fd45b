// The three things token-server does: serve, migrate, keygen. Each takes the
// parsed configuration and returns the process exit code.
#ifndef TOKEN_SERVER_APP_SERVER_APP_H_
#define TOKEN_SERVER_APP_SERVER_APP_H_

#include "server/config/config.h"

namespace token {

// Exit codes of token-server.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadConfig = 2;

// RunServe serves until SIGTERM/SIGINT, then drains in-flight calls (Server,
// server.h).
// REQUIRES: SIGTERM, SIGINT and SIGHUP blocked in every thread (BlockSignals).
int RunServe(const ServerConfig& config);

// RunMigrate applies pending migrations and returns.
int RunMigrate(const ServerConfig& config);

// RunKeygen writes a new signing key into config.key_dir.
int RunKeygen(const ServerConfig& config);

// BlockSignals blocks the signals RunServe waits for; call before any thread
// starts so every thread inherits the mask.
void BlockSignals();

}  // namespace token

#endif  // TOKEN_SERVER_APP_SERVER_APP_H_
