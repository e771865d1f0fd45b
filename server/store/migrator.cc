#include "server/store/migrator.h"

#include <algorithm>
#include <exception>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pqxx/pqxx"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/store/conninfo.h"

namespace token {
namespace {

// Arbitrary constant naming this service's migration lock.
constexpr int64_t kMigrationLockId = 0x746f6b656e763031;  // "tokenv01"

std::string WithConnectTimeout(const std::string& conninfo, absl::Time deadline) {
  // At most a day: the value must fit libpq's int.
  const int64_t seconds =
      std::clamp<int64_t>(absl::ToInt64Seconds(deadline - absl::Now()), 2, 86400);
  return WithServiceOptions(conninfo, "token-server-migrate", static_cast<int>(seconds));
}

}  // namespace

const std::vector<Migration>& EmbeddedMigrations() {
  static const std::vector<Migration> migrations = {
#include "embedded/migrations.inc"
  };
  return migrations;
}

absl::StatusOr<std::vector<std::string>> ApplyMigrations(const std::string& conninfo,
                                                         const std::vector<Migration>& migrations,
                                                         absl::Time deadline) {
  std::vector<std::string> applied;
  try {
    pqxx::connection conn(WithConnectTimeout(conninfo, deadline));
    {
      pqxx::nontransaction tx(conn);
      const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()));
      tx.exec(absl::StrCat("SET lock_timeout = ", ms));
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockId, ")"));
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY,"
          " name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
    }
    std::set<int> done;
    {
      pqxx::nontransaction tx(conn);
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
        done.insert(row[0].as<int>());
      }
    }
    int known_max = 0;
    for (const Migration& m : migrations) known_max = std::max(known_max, m.version);
    if (!done.empty() && *done.rbegin() > known_max) {
      return absl::FailedPreconditionError(absl::StrCat("database schema version ", *done.rbegin(),
                                                        " is newer than this binary knows (",
                                                        known_max, ")"));
    }
    for (const Migration& m : migrations) {
      if (done.count(m.version) > 0) continue;
      pqxx::work tx(conn, "migrate");
      tx.exec(std::string(m.sql));
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                     std::string(m.name));
      tx.commit();
      applied.emplace_back(m.name);
      Log(LogLevel::kInfo, "migration applied", {{"migration", std::string(m.name)}});
    }
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockId, ")"));
  } catch (const pqxx::broken_connection&) {
    return MakeError(ErrorReason::DATABASE_UNAVAILABLE, "cannot connect to the database");
  } catch (const pqxx::sql_error& e) {
    return absl::UnavailableError(
        absl::StrCat("migration failed with SQLSTATE ", e.sqlstate(), ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("migration failed: ", e.what()));
  }
  return applied;
}

}  // namespace token
