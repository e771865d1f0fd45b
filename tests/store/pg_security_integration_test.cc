// The store's security rules (migrations/0003_security.sql; the findings
// table in docs/SECURITY.md) that only PostgreSQL itself can show: pinned
// search paths, shadowing objects, the upgrade from the previous schema, the
// database clock. The rules both stores must follow (reuse of any older
// generation, RevokeAll races, clock offset, clamped revocation times) are in
// session_store_contract_test.cc.
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/store/pg_session_store.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

class PgSecurityTest : public ::testing::Test {
 protected:
  PgSecurityTest() : store_(PgSessionStore::Create(MigratedConninfo(), 2)) {}

  std::shared_ptr<PgSessionStore> store_;
};

// Finding 11: every function of ours runs with a pinned search_path, and
// PUBLIC may not create objects in schema public.
TEST_F(PgSecurityTest, FunctionsPinSearchPathAndPublicCannotCreate) {
  pqxx::connection c(MigratedConninfo());
  pqxx::nontransaction tx(c);
  const pqxx::result unpinned = tx.exec(
      "SELECT p.oid::regprocedure::text FROM pg_proc p "
      "JOIN pg_namespace n ON n.oid = p.pronamespace "
      "WHERE p.proname LIKE 'token\\_%' AND n.nspname = current_schema() "
      "AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%pg_temp', "
      "false)");
  for (const auto& row : unpinned) ADD_FAILURE() << "unpinned: " << row[0].as<std::string>();
  EXPECT_GT(tx.exec1("SELECT count(*) FROM pg_proc WHERE proname LIKE 'token\\_%'")[0].as<int>(),
            4);
  // None of ours was created in pg_catalog.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_proc WHERE proname LIKE 'token\\_%' "
                     "AND pronamespace = 'pg_catalog'::regnamespace")[0]
                .as<int>(),
            0);
  EXPECT_FALSE(tx.exec1("SELECT has_schema_privilege('public', 'public', 'CREATE')")[0].as<bool>());
}

// Finding 11: objects that shadow the built-ins our functions use, in a schema
// ahead of ours on the caller's path, are never called.
TEST_F(PgSecurityTest, ShadowingOperatorsOnCallerPathAreNotUsed) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.Psql(R"sql(
    CREATE SCHEMA IF NOT EXISTS shadow;
    CREATE OR REPLACE FUNCTION shadow.evil_mul(bigint, interval) RETURNS interval
      LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'shadow operator ran'; END $$;
    DROP OPERATOR IF EXISTS shadow.* (bigint, interval);
    CREATE OPERATOR shadow.* (LEFTARG = bigint, RIGHTARG = interval, FUNCTION = shadow.evil_mul);
    CREATE OR REPLACE FUNCTION shadow.array_position(bytea[], bytea) RETURNS integer
      LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'shadow array_position ran'; END $$;
  )sql")
                  .ok());
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("shadowed", now, &token), Deadline()).ok());
  pqxx::connection c(MigratedConninfo());
  pqxx::nontransaction tx(c);
  tx.exec("SET search_path = shadow, public");
  const std::string candidates = absl::StrCat(
      "ARRAY[", "decode('", absl::BytesToHexString(RefreshSecretChain::StoredHash(token)),
      "', 'hex'), decode('",
      absl::BytesToHexString(RefreshSecretChain::StoredHash(TestChain().Successor(token))),
      "', 'hex')]");
  const int64_t us = absl::ToUnixMicros(now);
  pqxx::row row;
  ASSERT_NO_THROW(
      row = tx.exec1(absl::StrCat("SELECT outcome FROM public.token_rotate_session('",
                                  UuidToString(token.session_id), "'::uuid, ", candidates, ", ", us,
                                  ", 10000000, 3600000000, false, '', '', 0)")));
  EXPECT_EQ(row[0].as<std::string>(), "rotated");
  // The context wrapper (migrations/0004_session_context.sql) too: the
  // successor rotates through it.
  const RefreshToken successor = TestChain().Successor(token);
  const std::string successor_candidates = absl::StrCat(
      "ARRAY[", "decode('", absl::BytesToHexString(RefreshSecretChain::StoredHash(successor)),
      "', 'hex'), decode('",
      absl::BytesToHexString(RefreshSecretChain::StoredHash(TestChain().Successor(successor))),
      "', 'hex')]");
  ASSERT_NO_THROW(row = tx.exec1(absl::StrCat(
                      "SELECT outcome, claims FROM public.token_rotate_session_context('",
                      UuidToString(token.session_id), "'::uuid, ", successor_candidates, ", ", us,
                      ", 10000000, 3600000000, false, '', '', 0)")));
  EXPECT_EQ(row[0].as<std::string>(), "rotated");
  EXPECT_EQ(row[1].as<std::string>(), "{}");
  EXPECT_NO_THROW(tx.exec1(absl::StrCat("SELECT public.token_ts(", us, ")")));
  tx.exec("SET search_path = public");
  ASSERT_TRUE(pg.Psql("DROP SCHEMA shadow CASCADE").ok());
}

// Upgrading a database migrated and used by the previous release keeps its
// sessions working (rows written before 0003 rotate after it) and brings
// far-future revocation times back to now.
TEST_F(PgSecurityTest, UpgradeFromPreviousSchemaKeepsSessions) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("upgrade_0003").ok());
  const std::string conninfo = pg.conninfo("upgrade_0003");
  std::vector<Migration> previous;
  for (const Migration& m : EmbeddedMigrations()) {
    if (m.version < 3) previous.push_back(m);
  }
  ASSERT_TRUE(ApplyMigrations(conninfo, previous, Deadline()).ok());
  const absl::Time now = MicrosNow();
  RefreshToken token;
  NewSession s = NewSessionFor("upgraded", now, &token);
  {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    tx.exec_params(
        "INSERT INTO sessions (session_id, subject, audience, token_hash, created_at, "
        "last_used_at, expires_at, absolute_expires_at) VALUES ($1::uuid, $2, 'api', "
        "decode($3, 'hex'), token_ts($4), token_ts($4), token_ts($5), token_ts($6))",
        s.session_id, s.subject, absl::BytesToHexString(s.token_hash), absl::ToUnixMicros(now),
        absl::ToUnixMicros(s.expires_at), absl::ToUnixMicros(s.absolute_expires_at));
    // A far-future subject revocation, as a replica with a jumped clock wrote.
    tx.exec("INSERT INTO subject_revocations VALUES ('jumped', '2100-01-01')");
  }
  auto applied = ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline());
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->size(), EmbeddedMigrations().size() - previous.size());
  auto store = PgSessionStore::Create(conninfo, 1);
  EXPECT_EQ(store->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRotated);
  // The migration brought the far-future revocation back to its own time.
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  EXPECT_TRUE(tx.exec1("SELECT revoked_at <= now() + interval '1 minute' FROM subject_revocations "
                       "WHERE subject = 'jumped'")[0]
                  .as<bool>());
}

// The database clock is read for the replica's offset check.
TEST_F(PgSecurityTest, DatabaseClockIsNearLocalClock) {
  const absl::Time before = absl::Now();
  auto clock = store_->DatabaseClock(Deadline());
  ASSERT_TRUE(clock.ok()) << clock.status();
  EXPECT_GE(*clock, before - absl::Seconds(1));
  EXPECT_LE(*clock, absl::Now() + absl::Seconds(1));
}

}  // namespace
}  // namespace token::testing
