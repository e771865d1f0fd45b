// Migrator: applies the numbered SQL files of migrations/ (compiled into the
// binary) in order, each in its own transaction, recording them in
// schema_migrations. A session-level advisory lock makes concurrent runs from
// several replicas safe: one applies, the others wait and then find nothing to do.
#ifndef TOKEN_SERVER_STORE_MIGRATOR_H_
#define TOKEN_SERVER_STORE_MIGRATOR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace token {

struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// EmbeddedMigrations returns migrations/*.sql as built into this binary.
const std::vector<Migration>& EmbeddedMigrations();

// ApplyMigrations brings the database at `conninfo` up to date and returns the
// names it applied (empty when it was current). Fails with UNAVAILABLE when the
// database cannot be reached before `deadline`, and with FAILED_PRECONDITION
// when the database has a version this binary does not know (a newer binary
// migrated it): running old code on a newer schema is refused.
absl::StatusOr<std::vector<std::string>> ApplyMigrations(const std::string& conninfo,
                                                         const std::vector<Migration>& migrations,
                                                         absl::Time deadline);

}  // namespace token

#endif  // TOKEN_SERVER_STORE_MIGRATOR_H_
