// Helpers shared by the store integration tests: a migrated database per
// test binary and rows built from the real refresh-token chain.
#ifndef TOKEN_TESTS_STORE_STORE_TEST_UTIL_H_
#define TOKEN_TESTS_STORE_STORE_TEST_UTIL_H_

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/common/random.h"
#include "server/session/refresh_token.h"
#include "server/store/migrator.h"
#include "server/store/session_store.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {

// A fixed refresh-token key: tests need reproducible chains, not secrecy.
inline const RefreshSecretChain& TestChain() {
  static const RefreshSecretChain* chain = new RefreshSecretChain(std::string(32, 'k'));
  return *chain;
}

// MigratedConninfo applies the embedded migrations once per binary.
inline std::string MigratedConninfo() {
  static const std::string conninfo = [] {
    const std::string c = PostgresEnvironment::Get().conninfo();
    auto applied = ApplyMigrations(c, EmbeddedMigrations(), absl::Now() + absl::Seconds(30));
    EXPECT_TRUE(applied.ok()) << applied.status();
    return c;
  }();
  return conninfo;
}

// FreshMigratedConninfo creates a new database named `prefix`_<n> (n counts
// per binary) and migrates it: for tests that see every row (sweeps,
// revocation snapshots) and must not see another test's.
inline std::string FreshMigratedConninfo(const std::string& prefix) {
  static std::atomic<int> next{0};
  const std::string name = absl::StrCat(prefix, "_", next.fetch_add(1));
  const PostgresServer& pg = PostgresEnvironment::Get();
  const absl::Status created = pg.CreateDatabase(name);
  EXPECT_TRUE(created.ok()) << created;
  const std::string conninfo = pg.conninfo(name);
  auto applied = ApplyMigrations(conninfo, EmbeddedMigrations(), absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(applied.ok()) << applied.status();
  return conninfo;
}

// MicrosNow is absl::Now() truncated to microseconds, so times survive the
// round trip through timestamptz.
inline absl::Time MicrosNow() { return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now())); }

// NewSessionFor builds a row for `subject` whose generation-0 token is `*token`.
inline NewSession NewSessionFor(const std::string& subject, absl::Time now, RefreshToken* token,
                                absl::Duration idle = absl::Hours(1),
                                absl::Duration absolute = absl::Hours(24)) {
  *token = TestChain().NewToken(NewUuidV4());
  NewSession s;
  s.session_id = UuidToString(token->session_id);
  s.subject = subject;
  s.roles = {"reader", "writer"};
  s.audience = "api";
  s.client = {"test-agent/1.0", "192.0.2.7"};
  s.token_hash = RefreshSecretChain::StoredHash(*token);
  s.created_at = now;
  s.expires_at = now + idle;
  s.absolute_expires_at = now + absolute;
  return s;
}

// RotateRequestFor presents `token` at `now`.
inline RotateRequest RotateRequestFor(const RefreshToken& token, absl::Time now,
                                      absl::Duration grace = absl::Seconds(10)) {
  RotateRequest r;
  r.session_id = UuidToString(token.session_id);
  r.candidate_hashes = TestChain().CandidateHashes(token, 1);
  r.now = now;
  r.reuse_grace = grace;
  r.idle_ttl = absl::Hours(1);
  return r;
}

inline absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }

}  // namespace token::testing

#endif  // TOKEN_TESTS_STORE_STORE_TEST_UTIL_H_
