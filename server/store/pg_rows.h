// Rows of the statements in server/store/sql/ as the store's types, read by
// column name, shared by PgSessionStore and PgRevocationFeed.
#ifndef TOKEN_SERVER_STORE_PG_ROWS_H_
#define TOKEN_SERVER_STORE_PG_ROWS_H_

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "server/store/session_store.h"

namespace token {

// AddRevocation appends one row of load_revocations.sql to `snapshot`.
inline void AddRevocation(const pqxx::row& row, RevocationSnapshot& snapshot) {
  auto entry = std::make_pair(row["id"].as<std::string>(),
                              absl::FromUnixMicros(row["revoked_at"].as<int64_t>()));
  (row["kind"].as<std::string>() == "session" ? snapshot.sessions : snapshot.subjects)
      .push_back(std::move(entry));
}

}  // namespace token

#endif  // TOKEN_SERVER_STORE_PG_ROWS_H_
