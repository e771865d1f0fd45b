// The SessionStore contract, written once and run against both stores: the
// in-memory fake the session core's unit tests rely on, and PgSessionStore on
// a real PostgreSQL started by the test harness. Where they disagree,
// PostgreSQL (migrations/ and server/store/sql/) is the truth and the fake is
// wrong.
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "server/store/pg_session_store.h"
#include "tests/common/fake_clock.h"
#include "tests/session/fake_session_store.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

// A factory gives each test a store of its own, empty, and the database's
// clock (Now()), the time base every scenario builds its times on.

// FakeStoreFactory: the fake, with a FakeClock standing for the database's
// clock (fixed unless a test moves it).
class FakeStoreFactory {
 public:
  FakeStoreFactory()
      : clock_(MicrosNow()), store_(std::make_shared<test::FakeSessionStore>(&clock_)) {}
  SessionStore& store() { return *store_; }
  absl::Time Now() const { return clock_.Now(); }

 private:
  FakeClock clock_;
  std::shared_ptr<test::FakeSessionStore> store_;
};

// PgStoreFactory: PgSessionStore on a freshly created and migrated database.
class PgStoreFactory {
 public:
  PgStoreFactory() : store_(PgSessionStore::Create(FreshMigratedConninfo("contract"), 2)) {}
  SessionStore& store() { return *store_; }
  absl::Time Now() const { return MicrosNow(); }

 private:
  std::shared_ptr<PgSessionStore> store_;
};

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, FakeStoreFactory>) return "Fake";
    return "Postgres";
  }
};

void ExpectSameRow(const SessionRow& a, const SessionRow& b) {
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.roles, b.roles);
  EXPECT_EQ(a.audience, b.audience);
  EXPECT_EQ(a.client.user_agent, b.client.user_agent);
  EXPECT_EQ(a.client.ip_address, b.client.ip_address);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_used_at, b.last_used_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.absolute_expires_at, b.absolute_expires_at);
  EXPECT_EQ(a.revoked_at, b.revoked_at);
  EXPECT_EQ(a.revoke_reason, b.revoke_reason);
}

template <typename Factory>
class SessionStoreContractTest : public ::testing::Test {
 protected:
  SessionStore& store() { return factory_.store(); }
  absl::Time Now() const { return factory_.Now(); }

  // Create stores a session of `subject` created at `created` and returns its
  // generation-0 token.
  RefreshToken Create(const std::string& subject, absl::Time created,
                      absl::Duration idle = absl::Hours(1),
                      absl::Duration absolute = absl::Hours(24)) {
    RefreshToken token;
    const absl::Status s =
        store().CreateSession(NewSessionFor(subject, created, &token, idle, absolute), Deadline());
    EXPECT_TRUE(s.ok()) << s;
    return token;
  }

  RotateResult Rotate(const RefreshToken& token, absl::Time now,
                      absl::Duration grace = absl::Seconds(10)) {
    return Rotate(RotateRequestFor(token, now, grace));
  }
  RotateResult Rotate(const RotateRequest& request) {
    absl::StatusOr<RotateResult> r = store().RotateSession(request, Deadline());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : RotateResult{};
  }

  std::vector<SessionRow> List(const std::string& subject, int limit = 100,
                               const std::optional<SessionCursor>& after = std::nullopt) {
    auto rows = store().ListSessions(subject, limit, after, Deadline());
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *std::move(rows) : std::vector<SessionRow>{};
  }

  // Row returns the only session of `subject`.
  SessionRow Row(const std::string& subject) {
    std::vector<SessionRow> rows = List(subject);
    EXPECT_EQ(rows.size(), 1u) << subject;
    return rows.empty() ? SessionRow{} : rows.front();
  }

  Factory factory_;
};

using Factories = ::testing::Types<FakeStoreFactory, PgStoreFactory>;
TYPED_TEST_SUITE(SessionStoreContractTest, Factories, FactoryNames);

// --- CreateSession -----------------------------------------------------------

// A row the table's constraints refuse (an id in use, a hash of the wrong
// length, an idle expiry past the absolute one) is rejected as an invalid
// request, and the stored row is unchanged.
TYPED_TEST(SessionStoreContractTest, CreateSessionRejectsRowsTheTableRefuses) {
  const absl::Time now = this->Now();
  RefreshToken token;
  const NewSession s = NewSessionFor("create", now, &token);
  ASSERT_TRUE(this->store().CreateSession(s, Deadline()).ok());
  const SessionRow before = this->Row("create");

  NewSession same_id = NewSessionFor("create", now + absl::Seconds(1), &token);
  same_id.session_id = s.session_id;
  NewSession short_hash = NewSessionFor("create", now, &token);
  short_hash.token_hash.resize(16);
  NewSession bad_expiry = NewSessionFor("create", now, &token, absl::Hours(2), absl::Hours(1));
  for (const NewSession& bad : {same_id, short_hash, bad_expiry}) {
    const absl::Status status = this->store().CreateSession(bad, Deadline());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(ReasonOf(status), ErrorReason::INVALID_REQUEST) << status;
  }
  ExpectSameRow(this->Row("create"), before);
}

// --- RotateSession -----------------------------------------------------------

// The current token rotates to its successor, which is then current.
TYPED_TEST(SessionStoreContractTest, RotateCurrentTokenRotatesAndSuccessorIsCurrent) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("rotate", now);
  RotateRequest request = RotateRequestFor(token, now + absl::Seconds(1));
  request.idle_ttl = absl::Minutes(30);
  request.client = ClientMetadata{"new-agent/2.0", "198.51.100.9"};
  const RotateResult r = this->Rotate(request);
  EXPECT_EQ(r.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r.session.generation, 1);
  EXPECT_EQ(r.session.subject, "rotate");
  EXPECT_EQ(r.session.created_at, now);
  EXPECT_EQ(r.session.last_used_at, now + absl::Seconds(1));
  EXPECT_EQ(r.session.expires_at, now + absl::Seconds(1) + absl::Minutes(30));
  EXPECT_EQ(r.session.client.user_agent, "new-agent/2.0");
  EXPECT_EQ(r.session.client.ip_address, "198.51.100.9");
  EXPECT_FALSE(r.session.revoked_at.has_value());
  ExpectSameRow(this->Row("rotate"), r.session);

  const RotateResult next =
      this->Rotate(TestChain().Successor(token), now + absl::Seconds(2), absl::ZeroDuration());
  EXPECT_EQ(next.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(next.session.generation, 2);
  // Without new client metadata the recorded one stays.
  EXPECT_EQ(next.session.client.user_agent, "new-agent/2.0");
}

// The parent presented again inside the grace window is a retry: the row is
// unchanged.
TYPED_TEST(SessionStoreContractTest, RotateParentInsideGraceIsRetryAndChangesNothing) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("grace", now);
  const RotateResult rotated = this->Rotate(token, now);
  ASSERT_EQ(rotated.outcome, RotateOutcome::kRotated);
  const RotateResult retry = this->Rotate(token, now + absl::Seconds(10));
  EXPECT_EQ(retry.outcome, RotateOutcome::kGraceRetry);
  ExpectSameRow(retry.session, rotated.session);
  ExpectSameRow(this->Row("grace"), rotated.session);
  // The successor is still current.
  EXPECT_EQ(this->Rotate(TestChain().Successor(token), now + absl::Seconds(11)).outcome,
            RotateOutcome::kRotated);
}

// The parent after the grace window revokes the family; so does a parent
// presented with grace disabled.
TYPED_TEST(SessionStoreContractTest, RotateParentAfterGraceIsReuse) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("late-reuse", now);
  ASSERT_EQ(this->Rotate(token, now).outcome, RotateOutcome::kRotated);
  const absl::Time late = now + absl::Seconds(10) + absl::Microseconds(1);
  const RotateResult reuse = this->Rotate(token, late);
  EXPECT_EQ(reuse.outcome, RotateOutcome::kReuseDetected);
  EXPECT_EQ(reuse.session.revoked_at, late);
  EXPECT_EQ(reuse.session.revoke_reason, "refresh_token_reused");
  EXPECT_EQ(this->Row("late-reuse").revoke_reason, "refresh_token_reused");
  // Even the current token is now dead.
  EXPECT_EQ(this->Rotate(TestChain().Successor(token), late).outcome, RotateOutcome::kRevoked);

  const RefreshToken other = this->Create("no-grace", now);
  ASSERT_EQ(this->Rotate(other, now).outcome, RotateOutcome::kRotated);
  EXPECT_EQ(this->Rotate(other, now, absl::ZeroDuration()).outcome, RotateOutcome::kReuseDetected);
}

// The parent after its successor was used is reuse, even inside the window.
TYPED_TEST(SessionStoreContractTest, RotateParentAfterSuccessorUsedIsReuse) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("used-successor", now);
  ASSERT_EQ(this->Rotate(token, now).outcome, RotateOutcome::kRotated);
  ASSERT_EQ(this->Rotate(TestChain().Successor(token), now).outcome, RotateOutcome::kRotated);
  EXPECT_EQ(this->Rotate(token, now).outcome, RotateOutcome::kReuseDetected);
  EXPECT_EQ(this->Row("used-successor").revoke_reason, "refresh_token_reused");
}

// An authentic token of a live family that is neither current nor the grace
// parent is reuse however many generations old it is.
TYPED_TEST(SessionStoreContractTest, RotateAnyOlderGenerationIsReuse) {
  const absl::Time now = this->Now();
  const RefreshToken first = this->Create("ancient", now);
  RefreshToken current = first;
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(this->Rotate(current, now).outcome, RotateOutcome::kRotated);
    current = TestChain().Successor(current);
  }
  const RotateResult reuse = this->Rotate(first, now);
  EXPECT_EQ(reuse.outcome, RotateOutcome::kReuseDetected);
  EXPECT_EQ(reuse.session.generation, 30);
  EXPECT_EQ(this->Row("ancient").revoke_reason, "refresh_token_reused");
  EXPECT_EQ(this->Rotate(current, now).outcome, RotateOutcome::kRevoked);
}

// A token of the family that matches no generation (the caller checked its
// MAC tag, so it is ours): reuse, the family is revoked.
TYPED_TEST(SessionStoreContractTest, RotateUnmatchedTokenOfFamilyIsReuse) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("unmatched", now);
  const RefreshToken other{token.session_id, RandomBytes(32)};
  EXPECT_EQ(this->Rotate(other, now).outcome, RotateOutcome::kReuseDetected);
  EXPECT_EQ(this->Row("unmatched").revoke_reason, "refresh_token_reused");
  EXPECT_EQ(this->Rotate(token, now).outcome, RotateOutcome::kRevoked);
}

// A revoked session reports revoked, with the row as revoked.
TYPED_TEST(SessionStoreContractTest, RotateRevokedSessionIsRevoked) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("revoked", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(token.session_id), "user asked", now,
                                           Deadline(), nullptr));
  const RotateResult r = this->Rotate(token, now + absl::Seconds(1));
  EXPECT_EQ(r.outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(r.session.revoked_at, now);
  EXPECT_EQ(r.session.revoke_reason, "user asked");
  EXPECT_EQ(r.session.generation, 0);
}

// Idle and absolute expiry are reported as expired, and nothing changes.
TYPED_TEST(SessionStoreContractTest, RotateAfterIdleOrAbsoluteExpiryIsExpired) {
  const absl::Time now = this->Now();
  const RefreshToken idle = this->Create("idle", now, absl::Minutes(5), absl::Hours(1));
  const RotateResult idle_result = this->Rotate(idle, now + absl::Minutes(5));
  EXPECT_EQ(idle_result.outcome, RotateOutcome::kExpired);
  EXPECT_EQ(idle_result.session.generation, 0);
  EXPECT_FALSE(idle_result.session.revoked_at.has_value());
  EXPECT_EQ(this->Row("idle").last_used_at, now);

  const RefreshToken absolute = this->Create("absolute", now, absl::Minutes(50), absl::Minutes(50));
  // Rotation slides the idle expiry but never past the absolute one.
  const RotateResult r = this->Rotate(absolute, now + absl::Minutes(40));
  ASSERT_EQ(r.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r.session.expires_at, now + absl::Minutes(50));
  const RotateResult late = this->Rotate(TestChain().Successor(absolute), now + absl::Minutes(50));
  EXPECT_EQ(late.outcome, RotateOutcome::kExpired);
  ExpectSameRow(late.session, r.session);
}

// Unknown sessions are not found, with an empty row.
TYPED_TEST(SessionStoreContractTest, RotateUnknownSessionIsNotFound) {
  const RotateResult r = this->Rotate(TestChain().NewToken(NewUuidV4()), this->Now());
  EXPECT_EQ(r.outcome, RotateOutcome::kNotFound);
  EXPECT_TRUE(r.session.session_id.empty());
}

// A caller whose clock is further from the database's than the tolerated
// offset decides nothing: the row is untouched.
TYPED_TEST(SessionStoreContractTest, RotateWithClockBeyondOffsetChangesNothing) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("skewed", now);
  const SessionRow before = this->Row("skewed");
  for (absl::Duration off : {absl::Seconds(5), -absl::Seconds(5)}) {
    RotateRequest request = RotateRequestFor(token, this->Now() + off);
    request.max_clock_offset = absl::Seconds(2);
    const RotateResult r = this->Rotate(request);
    EXPECT_EQ(r.outcome, RotateOutcome::kClockOffset);
    EXPECT_TRUE(r.session.session_id.empty());
  }
  ExpectSameRow(this->Row("skewed"), before);
  RotateRequest in_bound = RotateRequestFor(token, this->Now());
  in_bound.max_clock_offset = absl::Seconds(2);
  EXPECT_EQ(this->Rotate(in_bound).outcome, RotateOutcome::kRotated);
}

// --- RevokeAll races ---------------------------------------------------------

// A session whose row committed while a RevokeAll ran (created before the
// subject revocation, not seen by it) is listed as revoked and revoked at its
// first refresh; a login after the RevokeAll is not affected.
TYPED_TEST(SessionStoreContractTest, SessionCreatedBeforeSubjectRevocationIsRevokedAtRotation) {
  const absl::Time now = this->Now();
  auto subject = this->store().RevokeSubject("raced", "logout all", now, Deadline());
  ASSERT_TRUE(subject.ok()) << subject.status();
  EXPECT_EQ(subject->sessions, 0);
  const RefreshToken token = this->Create("raced", now - absl::Milliseconds(1));
  const SessionRow listed = this->Row("raced");
  EXPECT_EQ(listed.revoked_at, now);
  EXPECT_EQ(listed.revoke_reason, "revoke_all");
  const RotateResult r = this->Rotate(token, now + absl::Seconds(1));
  EXPECT_EQ(r.outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(r.session.revoked_at, now);
  EXPECT_EQ(r.session.revoke_reason, "revoke_all");
  ExpectSameRow(this->Row("raced"), listed);

  const RefreshToken later = this->Create("raced", now + absl::Milliseconds(1));
  EXPECT_EQ(this->Rotate(later, now + absl::Seconds(1)).outcome, RotateOutcome::kRotated);
}

// A late session nobody refreshes is revoked when its subject revocation is
// swept, so the revocation is never forgotten while the session lives.
TYPED_TEST(SessionStoreContractTest, SweepRevokesLateSessionBeforeDroppingSubjectRevocation) {
  const absl::Time now = this->Now();
  const absl::Time long_ago = now - absl::Hours(2);
  ASSERT_TRUE(this->store().RevokeSubject("raced-idle", "", long_ago, Deadline()).ok());
  const RefreshToken token =
      this->Create("raced-idle", long_ago - absl::Seconds(1), absl::Hours(24), absl::Hours(48));
  auto swept =
      this->store().SweepExpired(now - absl::Hours(100), now - absl::Hours(1), 1000, Deadline());
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_EQ(*swept, 1);  // The subject revocation; the session stays, revoked.
  auto revocations = this->store().LoadRevocations(now - absl::Hours(24), Deadline());
  ASSERT_TRUE(revocations.ok()) << revocations.status();
  EXPECT_TRUE(revocations->subjects.empty());
  const SessionRow row = this->Row("raced-idle");
  EXPECT_EQ(row.revoked_at, long_ago);
  EXPECT_EQ(row.revoke_reason, "revoke_all");
  EXPECT_EQ(this->Rotate(token, now).outcome, RotateOutcome::kRevoked);
}

// --- RevokeSession, RevokeSubject --------------------------------------------

// RevokeSession revokes once; the second call and unknown ids report false.
TYPED_TEST(SessionStoreContractTest, RevokeSessionOnceThenFalse) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("revoke-one", now);
  const std::string id = UuidToString(token.session_id);
  std::string subject;
  auto first = this->store().RevokeSession(id, "user asked", now, Deadline(), &subject);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_EQ(subject, "revoke-one");
  subject.clear();
  EXPECT_FALSE(
      *this->store().RevokeSession(id, "again", now + absl::Seconds(1), Deadline(), &subject));
  EXPECT_EQ(subject, "");
  EXPECT_FALSE(
      *this->store().RevokeSession(UuidToString(NewUuidV4()), "unknown", now, Deadline(), nullptr));
  const SessionRow row = this->Row("revoke-one");
  EXPECT_EQ(row.revoked_at, now);
  EXPECT_EQ(row.revoke_reason, "user asked");
}

// RevokeSubject revokes the subject's live sessions only, counts them, and
// returns the subject's recorded revocation time, which never moves back.
TYPED_TEST(SessionStoreContractTest, RevokeSubjectCountsLiveSessionsOnly) {
  const absl::Time now = this->Now();
  for (int i = 0; i < 3; ++i) this->Create("everywhere", now);
  const RefreshToken already = this->Create("everywhere", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(already.session_id), "earlier",
                                           now - absl::Seconds(5), Deadline(), nullptr));
  // Expired an hour ago: left alone.
  this->Create("everywhere", now - absl::Hours(2), absl::Hours(1), absl::Hours(24));
  this->Create("bystander", now);

  auto revoked = this->store().RevokeSubject("everywhere", "logout all", now, Deadline());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->sessions, 3);
  EXPECT_EQ(revoked->revoked_at, now);
  int by_this_call = 0;
  for (const SessionRow& row : this->List("everywhere")) {
    if (row.revoke_reason == "logout all") {
      ++by_this_call;
      EXPECT_EQ(row.revoked_at, now);
    }
  }
  EXPECT_EQ(by_this_call, 3);
  EXPECT_EQ(this->Row("bystander").revoked_at, std::nullopt);

  // An earlier time neither revokes anything nor moves the record back.
  auto again =
      this->store().RevokeSubject("everywhere", "again", now - absl::Seconds(1), Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->sessions, 0);
  EXPECT_EQ(again->revoked_at, now);
}

// A caller whose clock jumped cannot record a revocation far in the future
// (or past): the time is clamped to within the offset of the database's.
TYPED_TEST(SessionStoreContractTest, RevocationTimesAreClampedToDatabaseClock) {
  const absl::Time now = this->Now();
  const absl::Duration bound = absl::Seconds(2);
  auto subject = this->store().RevokeSubject(
      "future", "", WriteTime(now + absl::Hours(24 * 365), bound), Deadline());
  ASSERT_TRUE(subject.ok()) << subject.status();
  EXPECT_GE(subject->revoked_at, now);
  EXPECT_LE(subject->revoked_at, this->Now() + bound);
  const RefreshToken token = this->Create("past", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(token.session_id), "",
                                           WriteTime(now - absl::Hours(24), bound), Deadline(),
                                           nullptr));
  const SessionRow row = this->Row("past");
  ASSERT_TRUE(row.revoked_at.has_value());
  EXPECT_GE(*row.revoked_at, now - bound);
  EXPECT_LE(*row.revoked_at, this->Now() + bound);
}

// --- ListSessions ------------------------------------------------------------

// A created session is listed with every field as written.
TYPED_TEST(SessionStoreContractTest, ListSessionsReturnsFieldsAsWritten) {
  const absl::Time now = this->Now();
  RefreshToken token;
  const NewSession s = NewSessionFor("list-fields", now, &token);
  ASSERT_TRUE(this->store().CreateSession(s, Deadline()).ok());
  this->Create("someone-else", now);
  const SessionRow row = this->Row("list-fields");
  EXPECT_EQ(row.session_id, s.session_id);
  EXPECT_EQ(row.subject, "list-fields");
  EXPECT_EQ(row.roles, s.roles);
  EXPECT_EQ(row.audience, "api");
  EXPECT_EQ(row.client.user_agent, "test-agent/1.0");
  EXPECT_EQ(row.client.ip_address, "192.0.2.7");
  EXPECT_EQ(row.generation, 0);
  EXPECT_EQ(row.created_at, now);
  EXPECT_EQ(row.last_used_at, now);
  EXPECT_EQ(row.expires_at, s.expires_at);
  EXPECT_EQ(row.absolute_expires_at, s.absolute_expires_at);
  EXPECT_FALSE(row.revoked_at.has_value());
  EXPECT_EQ(row.revoke_reason, "");
  EXPECT_TRUE(this->List("nobody").empty());
}

// Keyset pagination returns every session once, newest first (ties on the
// creation time broken by id, descending).
TYPED_TEST(SessionStoreContractTest, ListSessionsPagesNewestFirstWithoutGapsOrDuplicates) {
  const absl::Time now = this->Now();
  for (int i = 0; i < 7; ++i) this->Create("pages", now + absl::Seconds(i % 3));
  const std::vector<SessionRow> all = this->List("pages");
  ASSERT_EQ(all.size(), 7u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_TRUE(std::tie(all[i - 1].created_at, all[i - 1].session_id) >
                std::tie(all[i].created_at, all[i].session_id));
  }
  std::vector<SessionRow> paged;
  std::optional<SessionCursor> after;
  for (int page = 0; page < 10; ++page) {
    const std::vector<SessionRow> rows = this->List("pages", 3, after);
    EXPECT_LE(rows.size(), 3u);
    paged.insert(paged.end(), rows.begin(), rows.end());
    if (rows.size() < 3) break;
    after = SessionCursor{rows.back().created_at, rows.back().session_id};
  }
  ASSERT_EQ(paged.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(paged[i].session_id, all[i].session_id);
}

// --- LoadRevocations ---------------------------------------------------------

// Revocations made at or after `since`, sessions and subjects apart.
TYPED_TEST(SessionStoreContractTest, LoadRevocationsReturnsThoseSince) {
  const absl::Time now = this->Now();
  const RefreshToken old = this->Create("old", now - absl::Hours(3));
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(old.session_id), "", now - absl::Hours(2),
                                           Deadline(), nullptr));
  const RefreshToken recent = this->Create("recent", now - absl::Hours(3));
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(recent.session_id), "",
                                           now - absl::Hours(1), Deadline(), nullptr));
  this->Create("live", now);
  ASSERT_TRUE(
      this->store().RevokeSubject("gone-long-ago", "", now - absl::Hours(2), Deadline()).ok());
  ASSERT_TRUE(this->store().RevokeSubject("gone", "", now, Deadline()).ok());

  auto snapshot = this->store().LoadRevocations(now - absl::Hours(1), Deadline());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  using Entries = std::vector<std::pair<std::string, absl::Time>>;
  EXPECT_EQ(snapshot->sessions, (Entries{{UuidToString(recent.session_id), now - absl::Hours(1)}}));
  EXPECT_EQ(snapshot->subjects, (Entries{{"gone", now}}));
}

// --- SweepExpired ------------------------------------------------------------

// The sweep deletes expired and long-revoked sessions and old subject
// revocations only, at most `batch` of each per call.
TYPED_TEST(SessionStoreContractTest, SweepDeletesOnlyExpiredAndLongRevokedInBatches) {
  const absl::Time now = this->Now();
  const absl::Time long_ago = now - absl::Hours(48);
  for (int i = 0; i < 5; ++i) this->Create("old", long_ago, absl::Hours(24), absl::Hours(24));
  const RefreshToken revoked_long_ago =
      this->Create("revoked", long_ago, absl::Hours(96), absl::Hours(96));
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(revoked_long_ago.session_id), "", long_ago,
                                           Deadline(), nullptr));
  const RefreshToken revoked_now = this->Create("revoked", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(revoked_now.session_id), "", now,
                                           Deadline(), nullptr));
  this->Create("live", now);
  ASSERT_TRUE(this->store().RevokeSubject("gone", "", long_ago, Deadline()).ok());
  ASSERT_TRUE(this->store().RevokeSubject("recent", "", now, Deadline()).ok());

  const absl::Time cutoff = now - absl::Hours(1);
  EXPECT_EQ(*this->store().SweepExpired(cutoff, cutoff, 4, Deadline()), 4 + 1);
  EXPECT_EQ(*this->store().SweepExpired(cutoff, cutoff, 4, Deadline()), 2);
  EXPECT_EQ(*this->store().SweepExpired(cutoff, cutoff, 4, Deadline()), 0);
  EXPECT_TRUE(this->List("old").empty());
  EXPECT_EQ(this->Row("revoked").session_id, UuidToString(revoked_now.session_id));
  EXPECT_EQ(this->List("live").size(), 1u);
  auto revocations = this->store().LoadRevocations(now - absl::Hours(24 * 365), Deadline());
  ASSERT_TRUE(revocations.ok()) << revocations.status();
  using Entries = std::vector<std::pair<std::string, absl::Time>>;
  EXPECT_EQ(revocations->subjects, (Entries{{"recent", now}}));
  EXPECT_EQ(revocations->sessions, (Entries{{UuidToString(revoked_now.session_id), now}}));
}

}  // namespace
}  // namespace token::testing
