// PgSessionStore and the migrator against a real PostgreSQL started by the
// test harness.
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/store/pg_session_store.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

// Microsecond-aligned, so times survive the round trip through timestamptz.
absl::Time Now() { return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now())); }

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

// A created session is listed with every field as written.
TEST_F(PgSessionStoreTest, CreateThenListReturnsSameFields) {
  const absl::Time now = Now();
  RefreshToken token;
  NewSession s = NewSessionFor("list-fields", now, &token);
  ASSERT_TRUE(store_->CreateSession(s, Deadline()).ok());
  auto rows = store_->ListSessions("list-fields", 10, std::nullopt, Deadline());
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const SessionRow& row = (*rows)[0];
  EXPECT_EQ(row.session_id, s.session_id);
  EXPECT_EQ(row.roles, s.roles);
  EXPECT_EQ(row.audience, "api");
  EXPECT_EQ(row.client.user_agent, "test-agent/1.0");
  EXPECT_EQ(row.client.ip_address, "192.0.2.7");
  EXPECT_EQ(row.created_at, now);
  EXPECT_EQ(row.expires_at, s.expires_at);
  EXPECT_EQ(row.absolute_expires_at, s.absolute_expires_at);
  EXPECT_FALSE(row.revoked_at.has_value());
  EXPECT_EQ(row.generation, 0);
}

// The stored row holds a hash, never the refresh secret or token.
TEST_F(PgSessionStoreTest, CreateStoresOnlyHash) {
  RefreshToken token;
  NewSession s = NewSessionFor("hash-only", Now(), &token);
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

// Presenting the current token rotates to its successor and bumps the generation.
TEST_F(PgSessionStoreTest, RotateCurrentTokenRotates) {
  const absl::Time now = Now();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("rotate", now, &token), Deadline()).ok());
  auto r = store_->RotateSession(RotateRequestFor(token, now + absl::Seconds(1)), Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r->session.generation, 1);
  EXPECT_EQ(r->session.last_used_at, now + absl::Seconds(1));
  // The successor is now current.
  auto next = store_->RotateSession(
      RotateRequestFor(TestChain().Successor(token), now + absl::Seconds(2)), Deadline());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(next->session.generation, 2);
}

// The parent presented again inside the grace window is a retry: nothing changes.
TEST_F(PgSessionStoreTest, RotateParentInsideGraceIsRetry) {
  const absl::Time now = Now();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("grace", now, &token), Deadline()).ok());
  ASSERT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRotated);
  auto retry = store_->RotateSession(RotateRequestFor(token, now + absl::Seconds(10)), Deadline());
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->outcome, RotateOutcome::kGraceRetry);
  EXPECT_EQ(retry->session.generation, 1);
  EXPECT_FALSE(retry->session.revoked_at.has_value());
}

// The parent presented after the grace window revokes the family.
TEST_F(PgSessionStoreTest, RotateParentAfterGraceRevokesFamily) {
  const absl::Time now = Now();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("late-reuse", now, &token), Deadline()).ok());
  ASSERT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRotated);
  auto reuse = store_->RotateSession(
      RotateRequestFor(token, now + absl::Seconds(10) + absl::Microseconds(1)), Deadline());
  ASSERT_TRUE(reuse.ok());
  EXPECT_EQ(reuse->outcome, RotateOutcome::kReuseDetected);
  ASSERT_TRUE(reuse->session.revoked_at.has_value());
  EXPECT_EQ(reuse->session.revoke_reason, "refresh_token_reused");
  // Even the current token is now dead.
  auto current = store_->RotateSession(
      RotateRequestFor(TestChain().Successor(token), now + absl::Seconds(12)), Deadline());
  EXPECT_EQ(current->outcome, RotateOutcome::kRevoked);
}

// The parent presented after its successor was used is reuse, even inside the window.
TEST_F(PgSessionStoreTest, RotateParentAfterSuccessorUsedIsReuse) {
  const absl::Time now = Now();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("used-successor", now, &token), Deadline()).ok());
  ASSERT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRotated);
  ASSERT_EQ(store_->RotateSession(RotateRequestFor(TestChain().Successor(token), now), Deadline())
                ->outcome,
            RotateOutcome::kRotated);
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kReuseDetected);
}

// A token 16 generations old is still recognised as ours and revokes the family.
TEST_F(PgSessionStoreTest, RotateSixteenGenerationsOldDetectsReuse) {
  const absl::Time now = Now();
  RefreshToken first;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("deep-reuse", now, &first), Deadline()).ok());
  RefreshToken current = first;
  for (int i = 0; i < 17; ++i) {
    ASSERT_EQ(store_->RotateSession(RotateRequestFor(current, now), Deadline())->outcome,
              RotateOutcome::kRotated);
    current = TestChain().Successor(current);
  }
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(first, now), Deadline())->outcome,
            RotateOutcome::kReuseDetected);
}

// A token of the family that matches neither the current hash nor its parent
// is a copy of a rotated-away generation (the caller checked its MAC tag):
// reuse, the family is revoked.
TEST_F(PgSessionStoreTest, RotateUnmatchedTokenOfFamilyIsReuse) {
  const absl::Time now = Now();
  RefreshToken token;
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("unmatched", now, &token), Deadline()).ok());
  RefreshToken other{token.session_id, RandomBytes(32)};
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(other, now), Deadline())->outcome,
            RotateOutcome::kReuseDetected);
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRevoked);
}

// Unknown sessions are not found.
TEST_F(PgSessionStoreTest, RotateUnknownSessionNotFound) {
  RefreshToken ghost = TestChain().NewToken(NewUuidV4());
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(ghost, Now()), Deadline())->outcome,
            RotateOutcome::kNotFound);
}

// Idle and absolute expiry are reported as expired, and nothing rotates.
TEST_F(PgSessionStoreTest, RotateAfterIdleOrAbsoluteExpiryIsExpired) {
  const absl::Time now = Now();
  RefreshToken idle_token;
  ASSERT_TRUE(
      store_
          ->CreateSession(NewSessionFor("idle", now, &idle_token, absl::Minutes(5), absl::Hours(1)),
                          Deadline())
          .ok());
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(idle_token, now + absl::Minutes(5)), Deadline())
                ->outcome,
            RotateOutcome::kExpired);

  RefreshToken abs_token;
  ASSERT_TRUE(store_
                  ->CreateSession(NewSessionFor("absolute", now, &abs_token, absl::Minutes(50),
                                                absl::Minutes(50)),
                                  Deadline())
                  .ok());
  // Rotation slides the idle expiry but never past the absolute one.
  auto r = store_->RotateSession(RotateRequestFor(abs_token, now + absl::Minutes(40)), Deadline());
  ASSERT_EQ(r->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r->session.expires_at, now + absl::Minutes(50));
  EXPECT_EQ(store_
                ->RotateSession(
                    RotateRequestFor(TestChain().Successor(abs_token), now + absl::Minutes(50)),
                    Deadline())
                ->outcome,
            RotateOutcome::kExpired);
}

// Concurrent rotations of one token: exactly one rotates, all others are retries.
TEST_F(PgSessionStoreTest, ConcurrentRotationsYieldOneSuccessor) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 16);
  const absl::Time now = Now();
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

// RevokeSession revokes once; the second call and unknown ids report false.
TEST_F(PgSessionStoreTest, RevokeSessionOnceThenFalse) {
  const absl::Time now = Now();
  RefreshToken token;
  NewSession s = NewSessionFor("revoke-one", now, &token);
  ASSERT_TRUE(store_->CreateSession(s, Deadline()).ok());
  std::string subject;
  EXPECT_TRUE(*store_->RevokeSession(s.session_id, "user asked", now, Deadline(), &subject));
  EXPECT_EQ(subject, "revoke-one");
  EXPECT_FALSE(*store_->RevokeSession(s.session_id, "again", now, Deadline(), nullptr));
  EXPECT_FALSE(
      *store_->RevokeSession(UuidToString(NewUuidV4()), "unknown", now, Deadline(), nullptr));
  auto rows = store_->ListSessions("revoke-one", 10, std::nullopt, Deadline());
  EXPECT_EQ((*rows)[0].revoke_reason, "user asked");
  EXPECT_EQ(store_->RotateSession(RotateRequestFor(token, now), Deadline())->outcome,
            RotateOutcome::kRevoked);
}

// RevokeSubject revokes only that subject's live sessions and counts them.
TEST_F(PgSessionStoreTest, RevokeSubjectCountsLiveSessionsOnly) {
  const absl::Time now = Now();
  RefreshToken t;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(store_->CreateSession(NewSessionFor("everywhere", now, &t), Deadline()).ok());
  NewSession already = NewSessionFor("everywhere", now, &t);
  ASSERT_TRUE(store_->CreateSession(already, Deadline()).ok());
  ASSERT_TRUE(*store_->RevokeSession(already.session_id, "", now, Deadline(), nullptr));
  ASSERT_TRUE(store_->CreateSession(NewSessionFor("bystander", now, &t), Deadline()).ok());

  EXPECT_EQ(store_->RevokeSubject("everywhere", "logout all", now, Deadline())->sessions, 3);
  EXPECT_EQ(store_->RevokeSubject("everywhere", "again", now, Deadline())->sessions, 0);
  auto bystander = store_->ListSessions("bystander", 10, std::nullopt, Deadline());
  EXPECT_FALSE((*bystander)[0].revoked_at.has_value());
  auto snapshot = store_->LoadRevocations(now - absl::Seconds(1), Deadline());
  ASSERT_TRUE(snapshot.ok());
  bool subject_listed = false;
  for (const auto& [subject, at] : snapshot->subjects) subject_listed |= subject == "everywhere";
  EXPECT_TRUE(subject_listed);
}

// Keyset pagination returns every session once, newest first.
TEST_F(PgSessionStoreTest, ListSessionsPagesWithoutGapsOrDuplicates) {
  const absl::Time now = Now();
  RefreshToken t;
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        store_->CreateSession(NewSessionFor("pages", now + absl::Seconds(i % 3), &t), Deadline())
            .ok());
  }
  std::set<std::string> seen;
  std::optional<SessionCursor> after;
  absl::Time previous = absl::InfiniteFuture();
  for (int page = 0; page < 10; ++page) {
    auto rows = store_->ListSessions("pages", 3, after, Deadline());
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const SessionRow& row : *rows) {
      EXPECT_TRUE(seen.insert(row.session_id).second);
      EXPECT_LE(row.created_at, previous);
      previous = row.created_at;
    }
    if (rows->size() < 3) break;
    after = SessionCursor{rows->back().created_at, rows->back().session_id};
  }
  EXPECT_EQ(seen.size(), 7u);
}

// The sweeper's statement deletes expired and long-revoked rows only, in batches.
TEST_F(PgSessionStoreTest, SweepDeletesOnlyExpiredAndLongRevoked) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("sweep").ok());
  const std::string conninfo = pg.conninfo("sweep");
  ASSERT_TRUE(ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()).ok());
  auto store = PgSessionStore::Create(conninfo, 2);
  const absl::Time now = Now();
  const absl::Time long_ago = now - absl::Hours(48);
  RefreshToken t;
  for (int i = 0; i < 5; ++i) {  // Expired a day ago.
    ASSERT_TRUE(
        store
            ->CreateSession(NewSessionFor("old", long_ago, &t, absl::Hours(24), absl::Hours(24)),
                            Deadline())
            .ok());
  }
  NewSession revoked_long_ago =
      NewSessionFor("revoked", long_ago, &t, absl::Hours(96), absl::Hours(96));
  ASSERT_TRUE(store->CreateSession(revoked_long_ago, Deadline()).ok());
  ASSERT_TRUE(
      *store->RevokeSession(revoked_long_ago.session_id, "", long_ago, Deadline(), nullptr));
  NewSession revoked_now = NewSessionFor("revoked", now, &t);
  ASSERT_TRUE(store->CreateSession(revoked_now, Deadline()).ok());
  ASSERT_TRUE(*store->RevokeSession(revoked_now.session_id, "", now, Deadline(), nullptr));
  ASSERT_TRUE(store->CreateSession(NewSessionFor("live", now, &t), Deadline()).ok());
  ASSERT_TRUE(store->RevokeSubject("gone", "", long_ago, Deadline()).ok());
  ASSERT_TRUE(store->RevokeSubject("recent", "", now, Deadline()).ok());

  const absl::Time cutoff = now - absl::Hours(1);
  EXPECT_EQ(*store->SweepExpired(cutoff, cutoff, 4, Deadline()), 4 + 1);  // Sessions + subject.
  EXPECT_EQ(*store->SweepExpired(cutoff, cutoff, 4, Deadline()), 2);
  EXPECT_EQ(*store->SweepExpired(cutoff, cutoff, 4, Deadline()), 0);
  EXPECT_EQ(store->ListSessions("old", 10, std::nullopt, Deadline())->size(), 0u);
  EXPECT_EQ(store->ListSessions("revoked", 10, std::nullopt, Deadline())->size(), 1u);
  EXPECT_EQ(store->ListSessions("live", 10, std::nullopt, Deadline())->size(), 1u);
  auto revocations = store->LoadRevocations(now - absl::Hours(24 * 365), Deadline());
  ASSERT_TRUE(revocations.ok());
  ASSERT_EQ(revocations->subjects.size(), 1u);
  EXPECT_EQ(revocations->subjects[0].first, "recent");
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
  ASSERT_TRUE(store->CreateSession(NewSessionFor("unknown", Now(), &token), Deadline()).ok());
  auto r = store->RotateSession(RotateRequestFor(token, Now()), Deadline());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
}

}  // namespace
}  // namespace token::testing
