// Session context on PostgreSQL, what only a real database can show: the
// upgrade of a database in use from the previous schema by
// migrations/0004_session_context.sql, and UpdateSession against
// RotateSession on real row locks (neither loses the other's change). The
// behaviour both stores share is in session_store_contract_test.cc.
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/common/error_reason.h"
#include "server/store/pg_session_store.h"
#include "tests/harness/poll.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

// MigrationsUpTo returns the embedded migrations numbered <= `version`.
std::vector<Migration> MigrationsUpTo(int version) {
  std::vector<Migration> out;
  for (const Migration& m : EmbeddedMigrations()) {
    if (m.version <= version) out.push_back(m);
  }
  return out;
}

const Migration& MigrationNumber(int version) {
  for (const Migration& m : EmbeddedMigrations()) {
    if (m.version == version) return m;
  }
  ADD_FAILURE() << "no migration " << version;
  static const Migration none{0, "", ""};
  return none;
}

// LockWaiters counts the sessions of `conninfo`'s database waiting for a lock.
int LockWaiters(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  return tx
      .exec1(
          "SELECT count(*) FROM pg_stat_activity "
          "WHERE datname = current_database() AND wait_event_type = 'Lock'")[0]
      .as<int>();
}

// The candidates array of `token` (presented, successor) as SQL.
std::string CandidatesSql(const RefreshToken& token) {
  return absl::StrCat(
      "ARRAY[decode('", absl::BytesToHexString(RefreshSecretChain::StoredHash(token)),
      "', 'hex'), decode('",
      absl::BytesToHexString(RefreshSecretChain::StoredHash(TestChain().Successor(token))),
      "', 'hex')]");
}

SessionUpdate ClaimsUpdate(const RefreshToken& token, const std::string& claims) {
  SessionUpdate update;
  update.session_id = UuidToString(token.session_id);
  update.claims = claims;
  update.now = MicrosNow();
  return update;
}

// A database migrated by the previous release (0001-0003) and in use, with
// live, rotated and revoked sessions, upgraded by 0004 in place: the table is
// not rewritten, old rows read as an empty context and keep rotating,
// updating and listing, and the previous release's rotate function still
// answers as before (replicas of it run during a rolling upgrade).
TEST(PgSessionContextTest, UpgradeFromPreviousSchemaWithRowsKeepsThemWorking) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("upgrade_0004").ok());
  const std::string conninfo = pg.conninfo("upgrade_0004");
  const std::vector<Migration> previous = MigrationsUpTo(3);
  ASSERT_EQ(previous.size(), 3u);
  ASSERT_TRUE(ApplyMigrations(conninfo, previous, Deadline()).ok());

  const absl::Time now = MicrosNow();
  RefreshToken live, rotated, revoked, old_replica;
  std::vector<NewSession> rows = {
      NewSessionFor("upgraded", now, &live), NewSessionFor("upgraded", now, &rotated),
      NewSessionFor("upgraded", now, &revoked), NewSessionFor("upgraded", now, &old_replica)};
  std::string filenode_before;
  {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    // The previous release's insert_session.sql.
    for (const NewSession& s : rows) {
      tx.exec_params(
          "INSERT INTO sessions (session_id, subject, roles, audience, user_agent, ip_address, "
          "token_hash, generation, created_at, last_used_at, expires_at, absolute_expires_at) "
          "VALUES ($1::uuid, $2, ARRAY(SELECT json_array_elements_text($3::json)), $4, $5, $6, "
          "decode($7, 'hex'), 0, token_ts($8), token_ts($8), token_ts($9), token_ts($10))",
          s.session_id, s.subject, R"(["reader","writer"])", s.audience, s.client.user_agent,
          s.client.ip_address, absl::BytesToHexString(s.token_hash), absl::ToUnixMicros(now),
          absl::ToUnixMicros(s.expires_at), absl::ToUnixMicros(s.absolute_expires_at));
    }
    EXPECT_EQ(tx.exec1(absl::StrCat("SELECT outcome FROM token_rotate_session('",
                                    UuidToString(rotated.session_id), "'::uuid, ",
                                    CandidatesSql(rotated), ", ", absl::ToUnixMicros(now),
                                    ", 10000000, 3600000000, false, '', '', 0)"))[0]
                  .as<std::string>(),
              "rotated");
    tx.exec_params(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = 'gone' "
        "WHERE session_id = $1::uuid",
        UuidToString(revoked.session_id));
    filenode_before =
        tx.exec1("SELECT pg_relation_filenode('sessions')::text")[0].as<std::string>();
  }

  auto applied = ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline());
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, std::vector<std::string>{std::string(MigrationNumber(4).name)});
  {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    // Adding the columns changed the catalog only: the table was not rewritten.
    EXPECT_EQ(tx.exec1("SELECT pg_relation_filenode('sessions')::text")[0].as<std::string>(),
              filenode_before);
  }

  auto store = PgSessionStore::Create(conninfo, 2);
  auto listed = store->ListSessions("upgraded", 10, std::nullopt, Deadline());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 4u);
  for (const SessionRow& row : *listed) {
    EXPECT_EQ(row.context, TokenContext{}) << row.session_id;
    EXPECT_TRUE(row.metadata.empty()) << row.session_id;
    EXPECT_EQ(row.roles, (std::vector<std::string>{"reader", "writer"}));
  }

  auto r1 = store->RotateSession(RotateRequestFor(live, now), Deadline());
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r1->session.context, TokenContext{});
  auto r2 = store->RotateSession(RotateRequestFor(TestChain().Successor(rotated), now), Deadline());
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r2->session.generation, 2);
  auto r3 = store->RotateSession(RotateRequestFor(revoked, now), Deadline());
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_EQ(r3->outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(r3->session.revoke_reason, "gone");

  SessionUpdate update = ClaimsUpdate(TestChain().Successor(live), R"({"tenant":"acme"})");
  update.metadata = SessionMetadata{{"device", "old phone"}};
  auto updated = store->UpdateSession(update, nullptr, Deadline());
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->outcome, UpdateOutcome::kUpdated);
  EXPECT_EQ(updated->session.context.claims, R"({"tenant":"acme"})");

  // A replica of the previous release, mid rolling upgrade, still rotates
  // with its own function and result columns.
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  const pqxx::result old = tx.exec(
      absl::StrCat("SELECT * FROM token_rotate_session('", UuidToString(old_replica.session_id),
                   "'::uuid, ", CandidatesSql(old_replica), ", ", absl::ToUnixMicros(MicrosNow()),
                   ", 10000000, 3600000000, false, '', '', 0)"));
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old.columns(), 14);
  EXPECT_EQ(old[0]["outcome"].as<std::string>(), "rotated");
}

// 0004 run again (as after a failed record of it, or by hand) changes and
// fails nothing.
TEST(PgSessionContextTest, MigrationRunTwiceIsHarmless) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  ASSERT_TRUE(pg.CreateDatabase("rerun_0004").ok());
  const std::string conninfo = pg.conninfo("rerun_0004");
  ASSERT_TRUE(ApplyMigrations(conninfo, EmbeddedMigrations(), Deadline()).ok());
  pqxx::connection c(conninfo);
  const std::string count_constraints =
      "SELECT count(*) FROM pg_constraint WHERE conrelid = 'sessions'::regclass";
  int before = 0;
  {
    pqxx::nontransaction tx(c);
    before = tx.exec1(count_constraints)[0].as<int>();
  }
  for (int i = 0; i < 2; ++i) {
    pqxx::work tx(c);
    EXPECT_NO_THROW(tx.exec(std::string(MigrationNumber(4).sql)));
    tx.commit();
  }
  pqxx::nontransaction tx(c);
  EXPECT_EQ(tx.exec1(count_constraints)[0].as<int>(), before);
}

// The table refuses claims or metadata that are not JSON objects, whatever
// wrote them.
TEST(PgSessionContextTest, TableRefusesNonObjectClaimsAndMetadata) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  RefreshToken token;
  NewSession s = NewSessionFor("not-object", MicrosNow(), &token);
  s.context.claims = R"(["a"])";
  const absl::Status status = store->CreateSession(s, Deadline());
  EXPECT_EQ(ReasonOf(status), ErrorReason::INVALID_REQUEST) << status;
  s.context.claims = "{}";
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());
  pqxx::connection c(MigratedConninfo());
  pqxx::nontransaction tx(c);
  EXPECT_THROW(tx.exec_params("UPDATE sessions SET metadata = '\"x\"' WHERE session_id = $1::uuid",
                              s.session_id),
               pqxx::check_violation);
}

// A refresh that arrives while an UpdateSession holds the row waits for it
// and then carries the update: it reads the context after taking the lock.
TEST(PgSessionContextTest, RotateWaitingOnUpdateCarriesTheUpdate) {
  const std::string conninfo = FreshMigratedConninfo("rotate_waits");
  auto store = PgSessionStore::Create(conninfo, 4);
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("waits", now, &token), Deadline()).ok());

  std::thread rotator;
  absl::StatusOr<RotateResult> rotated = absl::UnknownError("not run");
  const UpdateCheck start_rotation = [&](const SessionRow&) {
    rotator = std::thread(
        [&] { rotated = store->RotateSession(RotateRequestFor(token, now), Deadline()); });
    EXPECT_TRUE(PollUntil([&] { return LockWaiters(conninfo) > 0; }, absl::Seconds(10)));
    return absl::OkStatus();
  };
  auto updated =
      store->UpdateSession(ClaimsUpdate(token, R"({"step":"up"})"), start_rotation, Deadline());
  ASSERT_TRUE(rotator.joinable());
  rotator.join();
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->outcome, UpdateOutcome::kUpdated);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(rotated->session.context.claims, R"({"step":"up"})");
  EXPECT_EQ(rotated->session.generation, 1);
}

// An UpdateSession that arrives while a refresh holds the row waits for it
// and keeps the rotation's change (generation, expiry, client) as it adds
// its own.
TEST(PgSessionContextTest, UpdateWaitingOnRotateKeepsTheRotation) {
  const std::string conninfo = FreshMigratedConninfo("update_waits");
  auto store = PgSessionStore::Create(conninfo, 4);
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("waits", now, &token), Deadline()).ok());

  pqxx::connection c(conninfo);
  pqxx::work holder(c);
  // The rotation, run by hand so its transaction (and row lock) stays open.
  ASSERT_EQ(holder
                .exec1(absl::StrCat("SELECT outcome FROM token_rotate_session_context('",
                                    UuidToString(token.session_id), "'::uuid, ",
                                    CandidatesSql(token), ", ", absl::ToUnixMicros(now),
                                    ", 10000000, 3600000000, true, 'rotated-agent', '', 0)"))[0]
                .as<std::string>(),
            "rotated");
  absl::StatusOr<UpdateResult> updated = absl::UnknownError("not run");
  std::thread updater([&] {
    updated = store->UpdateSession(ClaimsUpdate(token, R"({"step":"up"})"), nullptr, Deadline());
  });
  EXPECT_TRUE(PollUntil([&] { return LockWaiters(conninfo) > 0; }, absl::Seconds(10)));
  holder.commit();
  updater.join();
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_EQ(updated->outcome, UpdateOutcome::kUpdated);
  EXPECT_EQ(updated->session.generation, 1);
  EXPECT_EQ(updated->session.client.user_agent, "rotated-agent");
  EXPECT_EQ(updated->session.context.claims, R"({"step":"up"})");
  auto next = store->RotateSession(RotateRequestFor(TestChain().Successor(token), now), Deadline());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->outcome, RotateOutcome::kRotated);
  EXPECT_EQ(next->session.generation, 2);
  EXPECT_EQ(next->session.context.claims, R"({"step":"up"})");
}

// Refreshes and updates of one session racing on real threads, many times:
// after each round the row holds both changes, whichever committed first.
TEST(PgSessionContextTest, ConcurrentUpdateAndRotateLoseNeitherChange) {
  auto store = PgSessionStore::Create(FreshMigratedConninfo("update_race"), 4);
  const absl::Time now = MicrosNow();
  RefreshToken token;
  ASSERT_TRUE(store->CreateSession(NewSessionFor("race", now, &token), Deadline()).ok());
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE(round);
    const std::string claims = absl::StrCat(R"({"round":)", round, "}");
    const std::string agent = absl::StrCat("agent-", round);
    RotateRequest rotate = RotateRequestFor(token, now);
    rotate.client = ClientMetadata{agent, ""};
    absl::StatusOr<RotateResult> rotated = absl::UnknownError("not run");
    absl::StatusOr<UpdateResult> updated = absl::UnknownError("not run");
    std::thread a([&] { rotated = store->RotateSession(rotate, Deadline()); });
    std::thread b(
        [&] { updated = store->UpdateSession(ClaimsUpdate(token, claims), nullptr, Deadline()); });
    a.join();
    b.join();
    ASSERT_TRUE(rotated.ok()) << rotated.status();
    ASSERT_TRUE(updated.ok()) << updated.status();
    ASSERT_EQ(rotated->outcome, RotateOutcome::kRotated);
    ASSERT_EQ(updated->outcome, UpdateOutcome::kUpdated);
    // Whichever went second saw the other's change.
    EXPECT_TRUE(rotated->session.context.claims == claims ||
                updated->session.generation == round + 1);
    auto rows = store->ListSessions("race", 1, std::nullopt, Deadline());
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(rows->front().generation, round + 1);
    EXPECT_EQ(rows->front().client.user_agent, agent);
    EXPECT_EQ(rows->front().context.claims, claims);
    token = TestChain().Successor(token);
  }
}

}  // namespace
}  // namespace token::testing
