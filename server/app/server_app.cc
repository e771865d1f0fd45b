#include "server/app/server_app.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/app/server.h"
#include "server/common/clock.h"
#include "server/common/log.h"
#include "server/keys/key_directory.h"
#include "server/keys/rsa_key.h"
#include "server/store/migrator.h"

namespace token {

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
  absl::StatusOr<WrittenKey> written =
      key.ok() ? WriteKeyFile(config.key_dir, **key, absl::Now()) : key.status();
  if (!written.ok()) {
    Log(LogLevel::kError, "keygen failed", {{"error", std::string(written.status().message())}});
    return kExitFailure;
  }
  Log(LogLevel::kInfo, "wrote signing key",
      {{"path", written->path},
       {"kid", written->kid},
       {"bits", absl::StrCat((*key)->bits())},
       {"activates_at",
        absl::FormatTime(absl::RFC3339_sec, written->created + config.key_publish_period,
                         absl::UTCTimeZone())}});
  return kExitOk;
}

int RunServe(const ServerConfig& config) {
  RealClock clock;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(config, clock);
  if (!server.ok()) return StartExitCode(server.status());
  (*server)->Serve();
  (*server)->Drain();
  return kExitOk;
}

}  // namespace token
