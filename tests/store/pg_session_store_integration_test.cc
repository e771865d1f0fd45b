// PgSessionStore and the migrator against a real PostgreSQL started by the
// test harness: what only PostgreSQL can show (migrations, real row locks,
// what the row holds, its answers to an altered schema). The scenarios both
// stores must agree on are in session_store_contract_test.cc.
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/store/pg_session_store.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

class PgSessionStoreTest : public ::testing::Test {
 protected:
  PgSessionStoreTest() : store_(PgSessionStore::Create(MigratedConninfo(), 4)) {}
  std::shared_ptr<PgSessionStore> store_;
};

// Running the migrations again applies nothing and fails nothing.
TEST_F(PgSessionStoreTest, MigrationsTwiceAppliesNothingSecondTime) {
  auto again = ApplyMigrations(MigratedConninfo(), EmbeddedMigrations(), Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->empty());
}

// Two replicas migrating one empty database at once apply each file once.
TEST_F(PgSessionStoreTest, ConcurrentMigrationsApplyEachOnce) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("concurrent_migrations").ok());
  const std::string conninfo = pg.conninfo("concurrent_migrations");
  absl::StatusOr<std::vector<std::string>> a, b;
  std::thread ta([&] { a = ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()); });
  std::thread tb([&] { b = ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->size() + b->size(), EmbeddedMigrations().size());
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<size_t>(),
            EmbeddedMigrations().size());
}

// A schema migrated by a newer binary is refused rather than used.
TEST_F(PgSessionStoreTest, MigrationsRefuseNewerSchema) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("newer_schema").ok());
  const std::string conninfo = pg.conninfo("newer_schema");
  ASSERT_TRUE(ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()).ok());
  ASSERT_TRUE(
      pg.Psql("INSERT INTO schema_migrations VALUES (9999, '9999_future')", "newer_schema").ok());
  auto result = ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}

// The stored row holds a hash, never the refresh secret or token.
TEST_F(PgSessionStoreTest, CreateStoresOnlyHash) {
  RefreshToken token;
  NewSession s = NewSessionFor("hash-only", MicrosNow(), &token);
  ASSERT_TRUE(store_->CreateSession(s, Deadline()).ok());
  pqxx::connection c(MigratedConninfo());
  pqxx::nontransaction tx(c);
  const pqxx::row row = tx.exec_params1(
      "SELECT encode(token_hash, 'hex'), row_to_json(s)::text FROM sessions s "
      "WHERE session_id = $1::uuid",
      s.session_id);
  EXPECT_EQ(row[0].as<std::string>(),
            absl::BytesToHexString(RefreshSecretChain::StoredHash(token)));
  const std::string dump = row[1].as<std::string>();
  EXPECT_EQ(dump.find(absl::BytesToHexString(token.secret)), std::string::npos);
  EXPECT_EQ(dump.find(FormatRefreshToken(token)), std::string::npos);
}

// Concurrent rotations of one token: exactly one rotates, all others are retries.
TEST_F(PgSessionStoreTest, ConcurrentRotationsYieldOneSuccessor) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 16);
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("race", now, &token), Deadline()).ok());
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<RotateResult>> results(32, absl::UnknownError("not run"));
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = store->RotateSession(RotateRequestFor(token, now), Deadline()); });
  }
  for (auto& t : threads) t.join();
  int rotated = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->outcome == RotateOutcome::kRotated)
      ++rotated;
    else
      EXPECT_EQ(r->outcome, RotateOutcome::kGraceRetry);
    EXPECT_EQ(r->session.generation, 1);
  }
  EXPECT_EQ(rotated, 1);
}

// An outcome the code does not know (a newer or tampered schema) is an
// error, never silently taken for "not found".
TEST_F(PgSessionStoreTest, UnknownRotateOutcomeIsInternalError) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("unknown_outcome").ok());
  const std::string conninfo = pg.conninfo("unknown_outcome");
  ASSERT_TRUE(ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()).ok());
  // Same signature and result columns, an outcome this release never wrote.
  ASSERT_TRUE(pg.Psql(R"sql(
    CREATE OR REPLACE FUNCTION token_rotate_session(
        p_session_id uuid, p_candidates bytea[], p_now_us bigint, p_grace_us bigint,
        p_idle_us bigint, p_set_client boolean, p_user_agent text, p_ip_address text,
        p_max_offset_us bigint)
      RETURNS TABLE (outcome text, session_id text, subject text, roles text, audience text,
                     user_agent text, ip_address text, generation bigint, created_at bigint,
                     last_used_at bigint, expires_at bigint, absolute_expires_at bigint,
                     revoked_at bigint, revoke_reason text)
      LANGUAGE sql AS $$
        SELECT 'quarantined'::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
               NULL::bigint, NULL::bigint, NULL::text $$;
  )sql",
                      "unknown_outcome")
                  .ok());
  auto store = PgSessionStore::Create(conninfo, 1);
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("unknown", MicrosNow(), &token), Deadline()).ok());
  auto r = store->RotateSession(RotateRequestFor(token, MicrosNow()), Deadline());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
}

}  // namespace
}  // namespace token::testing
