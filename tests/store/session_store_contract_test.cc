// The SessionStore contract, written once and run against both stores: the
// in-memory fake the session core's unit tests rely on, and PgSessionStore on
// a real PostgreSQL started by the test harness. Where they disagree,
// PostgreSQL (migrations/ and server/store/sql/) is the truth and the fake is
// wrong.
#include <algorithm>
#include <functional>
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
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.metadata, b.metadata);
}

// A context using every field: claims in the canonical form (keys sorted,
// integers without a fraction) with nesting, escapes and non-ASCII text,
// which the store must hand back byte for byte.
TokenContext FullContext(absl::Time now) {
  TokenContext context;
  context.claims = R"({"email":"ana@example.com","flags":{"beta":true,"limits":[1,2.5,null]},)"
                   R"("n":9007199254740992,"name":"Ana \"Ñ\" 名前","tenant":"acme"})";
  context.scopes = {"orders:read", "orders:write", "profile"};
  context.auth_time = absl::FromUnixSeconds(absl::ToUnixSeconds(now) - 300);
  context.amr = {"pwd", "otp"};
  context.acr = "urn:example:loa:2";
  return context;
}

SessionMetadata FullMetadata() {
  return {{"device", "Ana's Pixel 8"}, {"login_method", "passkey"}, {"ünï", "cödé"}};
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

  // CreateWithContext is Create with FullContext and FullMetadata.
  RefreshToken CreateWithContext(const std::string& subject, absl::Time created) {
    RefreshToken token;
    NewSession s = NewSessionFor(subject, created, &token);
    s.context = FullContext(created);
    s.metadata = FullMetadata();
    const absl::Status status = this->store().CreateSession(s, Deadline());
    EXPECT_TRUE(status.ok()) << status;
    return token;
  }

  // Update runs UpdateSession with `check` (none by default), expecting OK.
  UpdateResult Update(const SessionUpdate& update, const UpdateCheck& check = nullptr) {
    absl::StatusOr<UpdateResult> r = store().UpdateSession(update, check, Deadline());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : UpdateResult{};
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
  auto subject = this->store().RevokeSubject("raced", "logout all", now, std::nullopt, Deadline());
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
  ASSERT_TRUE(
      this->store().RevokeSubject("raced-idle", "", long_ago, std::nullopt, Deadline()).ok());
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

  auto revoked =
      this->store().RevokeSubject("everywhere", "logout all", now, std::nullopt, Deadline());
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
  auto again = this->store().RevokeSubject("everywhere", "again", now - absl::Seconds(1),
                                           std::nullopt, Deadline());
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
      "future", "", WriteTime(now + absl::Hours(24 * 365), bound), std::nullopt, Deadline());
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
      this->store()
          .RevokeSubject("gone-long-ago", "", now - absl::Hours(2), std::nullopt, Deadline())
          .ok());
  ASSERT_TRUE(this->store().RevokeSubject("gone", "", now, std::nullopt, Deadline()).ok());

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
  ASSERT_TRUE(this->store().RevokeSubject("gone", "", long_ago, std::nullopt, Deadline()).ok());
  ASSERT_TRUE(this->store().RevokeSubject("recent", "", now, std::nullopt, Deadline()).ok());

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

// --- Session context and metadata -------------------------------------------

// A session without context reads back with the empty one: claims "{}",
// nothing else set.
TYPED_TEST(SessionStoreContractTest, SessionWithoutContextHasEmptyContext) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->Create("plain", now);
  const SessionRow row = this->Row("plain");
  EXPECT_EQ(row.context, TokenContext{});
  EXPECT_EQ(row.context.claims, "{}");
  EXPECT_TRUE(row.metadata.empty());
  const RotateResult r = this->Rotate(token, now);
  ASSERT_EQ(r.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r.session.context, TokenContext{});
  EXPECT_TRUE(r.session.metadata.empty());
}

// Context and metadata are stored as written (claims byte for byte) and come
// back from ListSessions and from every rotate outcome that has a row.
TYPED_TEST(SessionStoreContractTest, ContextAndMetadataRoundTripThroughEveryRead) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->CreateWithContext("context", now);
  const TokenContext context = FullContext(now);
  const SessionRow listed = this->Row("context");
  EXPECT_EQ(listed.context.claims, context.claims);
  EXPECT_EQ(listed.context, context);
  EXPECT_EQ(listed.metadata, FullMetadata());

  const RotateResult rotated = this->Rotate(token, now + absl::Seconds(1));
  ASSERT_EQ(rotated.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(rotated.session.context, context);
  EXPECT_EQ(rotated.session.metadata, FullMetadata());
  const RotateResult grace = this->Rotate(token, now + absl::Seconds(2));
  ASSERT_EQ(grace.outcome, RotateOutcome::kGraceRetry);
  EXPECT_EQ(grace.session.context, context);
  EXPECT_EQ(grace.session.metadata, FullMetadata());
  // Ten rotations carry it unchanged.
  RefreshToken current = TestChain().Successor(token);
  for (int i = 0; i < 10; ++i) {
    const RotateResult r = this->Rotate(current, now + absl::Seconds(3 + i));
    ASSERT_EQ(r.outcome, RotateOutcome::kRotated);
    EXPECT_EQ(r.session.context, context);
    current = TestChain().Successor(current);
  }
  const RotateResult reuse = this->Rotate(token, now + absl::Minutes(1));
  ASSERT_EQ(reuse.outcome, RotateOutcome::kReuseDetected);
  EXPECT_EQ(reuse.session.context, context);
  const RotateResult revoked = this->Rotate(current, now + absl::Minutes(1));
  ASSERT_EQ(revoked.outcome, RotateOutcome::kRevoked);
  EXPECT_EQ(revoked.session.context, context);
  EXPECT_EQ(revoked.session.metadata, FullMetadata());
  ExpectSameRow(this->Row("context"), revoked.session);

  const RefreshToken idle = this->CreateWithContext("context-idle", now);
  const RotateResult expired = this->Rotate(idle, now + absl::Hours(2));
  ASSERT_EQ(expired.outcome, RotateOutcome::kExpired);
  EXPECT_EQ(expired.session.context, FullContext(now));
}

// --- UpdateSession -----------------------------------------------------------

// Each field changes alone: the others stay, the new value is what the next
// rotation reads, and ListSessions shows it.
TYPED_TEST(SessionStoreContractTest, UpdateSessionChangesOnlyTheGivenField) {
  const absl::Time now = this->Now();
  const std::vector<std::string> new_roles = {"auditor"};
  const std::string new_claims = R"({"plan":"pro","seats":12})";
  const std::vector<std::string> new_scopes = {"billing"};
  const absl::Time new_auth_time = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  const std::vector<std::string> new_amr = {"hwk", "user"};
  const SessionMetadata new_metadata = {{"device", "laptop"}};

  using Apply = std::function<void(SessionUpdate&, SessionRow&)>;
  const std::vector<std::pair<std::string, Apply>> fields = {
      {"roles", [&](SessionUpdate& u, SessionRow& want) { u.roles = want.roles = new_roles; }},
      {"claims",
       [&](SessionUpdate& u, SessionRow& want) { u.claims = want.context.claims = new_claims; }},
      {"scopes",
       [&](SessionUpdate& u, SessionRow& want) { u.scopes = want.context.scopes = new_scopes; }},
      {"auth_time",
       [&](SessionUpdate& u, SessionRow& want) {
         u.auth_time = want.context.auth_time = new_auth_time;
       }},
      {"amr", [&](SessionUpdate& u, SessionRow& want) { u.amr = want.context.amr = new_amr; }},
      {"acr", [&](SessionUpdate& u, SessionRow& want) { u.acr = want.context.acr = "aal3"; }},
      {"metadata",
       [&](SessionUpdate& u, SessionRow& want) { u.metadata = want.metadata = new_metadata; }},
  };
  for (const auto& [field, apply] : fields) {
    SCOPED_TRACE(field);
    const std::string subject = "update-" + field;
    const RefreshToken token = this->CreateWithContext(subject, now);
    SessionRow want = this->Row(subject);
    SessionUpdate update;
    update.session_id = UuidToString(token.session_id);
    update.now = now + absl::Seconds(1);
    apply(update, want);
    const UpdateResult r = this->Update(update);
    ASSERT_EQ(r.outcome, UpdateOutcome::kUpdated);
    ExpectSameRow(r.session, want);
    ExpectSameRow(this->Row(subject), want);
    const RotateResult rotated = this->Rotate(token, now + absl::Seconds(2));
    ASSERT_EQ(rotated.outcome, RotateOutcome::kRotated);
    EXPECT_EQ(rotated.session.roles, want.roles);
    EXPECT_EQ(rotated.session.context, want.context);
    EXPECT_EQ(rotated.session.metadata, want.metadata);
  }
}

// Every field can be cleared: auth_time engaged and empty, the rest empty.
// An update with no field engaged changes nothing.
TYPED_TEST(SessionStoreContractTest, UpdateSessionClearsFields) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->CreateWithContext("clear", now);
  const std::string id = UuidToString(token.session_id);
  const SessionRow before = this->Row("clear");

  SessionUpdate nothing;
  nothing.session_id = id;
  nothing.now = now;
  const UpdateResult unchanged = this->Update(nothing);
  ASSERT_EQ(unchanged.outcome, UpdateOutcome::kUpdated);
  ExpectSameRow(unchanged.session, before);

  SessionUpdate clear;
  clear.session_id = id;
  clear.now = now;
  clear.roles = std::vector<std::string>{};
  clear.claims = "{}";
  clear.scopes = std::vector<std::string>{};
  clear.auth_time = std::optional<absl::Time>();
  clear.amr = std::vector<std::string>{};
  clear.acr = "";
  clear.metadata = SessionMetadata{};
  const UpdateResult r = this->Update(clear);
  ASSERT_EQ(r.outcome, UpdateOutcome::kUpdated);
  EXPECT_TRUE(r.session.roles.empty());
  EXPECT_EQ(r.session.context, TokenContext{});
  EXPECT_TRUE(r.session.metadata.empty());
  SessionRow want = before;
  want.roles.clear();
  want.context = TokenContext{};
  want.metadata.clear();
  ExpectSameRow(this->Row("clear"), want);
}

// Unknown, revoked (directly or by a subject revocation the row does not
// record yet) and expired sessions are not changed, and the check is not
// consulted.
TYPED_TEST(SessionStoreContractTest, UpdateSessionLeavesDeadSessionsAlone) {
  const absl::Time now = this->Now();
  int checks = 0;
  const UpdateCheck count = [&checks](const SessionRow&) {
    ++checks;
    return absl::OkStatus();
  };
  auto update_of = [&](const std::string& id, absl::Time at) {
    SessionUpdate u;
    u.session_id = id;
    u.now = at;
    u.claims = R"({"x":1})";
    u.metadata = SessionMetadata{{"k", "v"}};
    return u;
  };

  for (const std::string& unknown : {UuidToString(NewUuidV4()), std::string("not-a-uuid")}) {
    const UpdateResult r = this->Update(update_of(unknown, now), count);
    EXPECT_EQ(r.outcome, UpdateOutcome::kNotFound) << unknown;
    EXPECT_TRUE(r.session.session_id.empty());
  }

  const RefreshToken revoked = this->CreateWithContext("update-revoked", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(revoked.session_id), "user asked", now,
                                           Deadline(), nullptr));
  const SessionRow revoked_row = this->Row("update-revoked");
  const UpdateResult r1 =
      this->Update(update_of(UuidToString(revoked.session_id), now + absl::Seconds(1)), count);
  EXPECT_EQ(r1.outcome, UpdateOutcome::kRevoked);
  ExpectSameRow(r1.session, revoked_row);
  ExpectSameRow(this->Row("update-revoked"), revoked_row);

  // Created just before a RevokeAll that did not see it.
  ASSERT_TRUE(this->store()
                  .RevokeSubject("update-raced", "logout all", now, std::nullopt, Deadline())
                  .ok());
  const RefreshToken raced = this->CreateWithContext("update-raced", now - absl::Milliseconds(1));
  const SessionRow raced_row = this->Row("update-raced");
  ASSERT_EQ(raced_row.revoke_reason, "revoke_all");
  const UpdateResult r2 =
      this->Update(update_of(UuidToString(raced.session_id), now + absl::Seconds(1)), count);
  EXPECT_EQ(r2.outcome, UpdateOutcome::kRevoked);
  ExpectSameRow(r2.session, raced_row);
  ExpectSameRow(this->Row("update-raced"), raced_row);

  const RefreshToken idle = this->Create("update-idle", now, absl::Minutes(5), absl::Hours(1));
  const SessionRow idle_row = this->Row("update-idle");
  const UpdateResult r3 =
      this->Update(update_of(UuidToString(idle.session_id), now + absl::Minutes(5)), count);
  EXPECT_EQ(r3.outcome, UpdateOutcome::kExpired);
  ExpectSameRow(r3.session, idle_row);
  ExpectSameRow(this->Row("update-idle"), idle_row);

  const RefreshToken absolute =
      this->Create("update-absolute", now, absl::Minutes(50), absl::Minutes(50));
  const UpdateResult r4 =
      this->Update(update_of(UuidToString(absolute.session_id), now + absl::Minutes(50)), count);
  EXPECT_EQ(r4.outcome, UpdateOutcome::kExpired);
  EXPECT_EQ(this->Row("update-absolute").context, TokenContext{});

  EXPECT_EQ(checks, 0);
  // One microsecond before the idle expiry the session is still live.
  const RefreshToken live = this->Create("update-live", now, absl::Minutes(5), absl::Hours(1));
  EXPECT_EQ(this->Update(update_of(UuidToString(live.session_id),
                                   now + absl::Minutes(5) - absl::Microseconds(1)),
                         count)
                .outcome,
            UpdateOutcome::kUpdated);
  EXPECT_EQ(checks, 1);
}

// The check sees the row as updated; its error (ABORTED included, which must
// not be mistaken for a retryable conflict) is returned as it is and the
// update is rolled back.
TYPED_TEST(SessionStoreContractTest, UpdateSessionCheckVetoRollsBack) {
  const absl::Time now = this->Now();
  const RefreshToken token = this->CreateWithContext("veto", now);
  const SessionRow before = this->Row("veto");
  SessionUpdate update;
  update.session_id = UuidToString(token.session_id);
  update.now = now;
  update.claims = R"({"big":"claims"})";
  update.roles = std::vector<std::string>{"admin"};

  for (const absl::Status& veto :
       {MakeError(ErrorReason::INVALID_CLAIMS, "token too large"), absl::AbortedError("vetoed")}) {
    int checks = 0;
    SessionRow seen;
    auto r = this->store().UpdateSession(
        update,
        [&](const SessionRow& row) {
          ++checks;
          seen = row;
          return veto;
        },
        Deadline());
    EXPECT_EQ(r.status(), veto);
    EXPECT_EQ(checks, 1);
    EXPECT_EQ(seen.context.claims, R"({"big":"claims"})");
    EXPECT_EQ(seen.roles, std::vector<std::string>{"admin"});
    EXPECT_EQ(seen.context.scopes, before.context.scopes);
    EXPECT_EQ(seen.metadata, before.metadata);
    ExpectSameRow(this->Row("veto"), before);
  }
  const RotateResult rotated = this->Rotate(token, now);
  ASSERT_EQ(rotated.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(rotated.session.context, before.context);
  EXPECT_EQ(rotated.session.roles, before.roles);
}

// --- RevokeSubject with an exception -------------------------------------------

// "Log out my other devices": the kept session lives on (its refreshes
// work), every other live session of the subject is revoked on its own, and
// no subject revocation is recorded.
TYPED_TEST(SessionStoreContractTest, RevokeSubjectExceptKeepsOneAndRevokesTheOthers) {
  const absl::Time now = this->Now();
  const RefreshToken kept = this->CreateWithContext("devices", now);
  std::vector<std::string> others;
  for (int i = 0; i < 3; ++i) {
    others.push_back(UuidToString(this->Create("devices", now + absl::Seconds(i)).session_id));
  }
  std::sort(others.begin(), others.end());
  const RefreshToken earlier = this->Create("devices", now);
  ASSERT_TRUE(*this->store().RevokeSession(UuidToString(earlier.session_id), "earlier",
                                           now - absl::Seconds(5), Deadline(), nullptr));
  const RefreshToken expired =
      this->Create("devices", now - absl::Hours(2), absl::Hours(1), absl::Hours(24));
  this->Create("bystander", now);

  auto revoked = this->store().RevokeSubject("devices", "other devices", now,
                                             UuidToString(kept.session_id), Deadline());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->sessions, 3);
  EXPECT_EQ(revoked->revoked_at, now);
  EXPECT_EQ(revoked->session_ids, others);

  for (const SessionRow& row : this->List("devices")) {
    if (row.session_id == UuidToString(kept.session_id)) {
      EXPECT_FALSE(row.revoked_at.has_value());
    } else if (row.session_id == UuidToString(earlier.session_id)) {
      EXPECT_EQ(row.revoke_reason, "earlier");
    } else if (row.session_id == UuidToString(expired.session_id)) {
      EXPECT_FALSE(row.revoked_at.has_value());
    } else {
      EXPECT_EQ(row.revoked_at, now);
      EXPECT_EQ(row.revoke_reason, "other devices");
    }
  }
  EXPECT_FALSE(this->Row("bystander").revoked_at.has_value());
  auto snapshot = this->store().LoadRevocations(now - absl::Seconds(1), Deadline());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(snapshot->subjects.empty());
  std::vector<std::string> revoked_ids;
  for (const auto& [id, at] : snapshot->sessions) {
    EXPECT_EQ(at, now);
    revoked_ids.push_back(id);
  }
  std::sort(revoked_ids.begin(), revoked_ids.end());
  EXPECT_EQ(revoked_ids, others);

  const RotateResult r = this->Rotate(kept, now + absl::Seconds(10));
  EXPECT_EQ(r.outcome, RotateOutcome::kRotated);
  EXPECT_EQ(r.session.context, FullContext(now));
  // A login after the call is not affected either.
  EXPECT_EQ(this->Rotate(this->Create("devices", now + absl::Seconds(5)), now + absl::Seconds(10))
                .outcome,
            RotateOutcome::kRotated);
}

// The kept session must be the subject's: another subject's, an unknown one
// or text that is no session id is refused and nothing changes.
TYPED_TEST(SessionStoreContractTest, RevokeSubjectExceptForeignOrUnknownChangesNothing) {
  const absl::Time now = this->Now();
  this->Create("mine", now);
  this->Create("mine", now);
  const RefreshToken theirs = this->Create("theirs", now);
  const std::vector<SessionRow> before = this->List("mine");
  for (const std::string& except : {UuidToString(theirs.session_id), UuidToString(NewUuidV4()),
                                    std::string("not-a-uuid"), std::string("")}) {
    auto revoked = this->store().RevokeSubject("mine", "other devices", now, except, Deadline());
    EXPECT_EQ(revoked.status().code(), absl::StatusCode::kInvalidArgument) << except;
    EXPECT_EQ(ReasonOf(revoked.status()), ErrorReason::INVALID_SESSION_ID) << except;
  }
  const std::vector<SessionRow> after = this->List("mine");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) ExpectSameRow(after[i], before[i]);
  EXPECT_FALSE(this->Row("theirs").revoked_at.has_value());
  auto snapshot = this->store().LoadRevocations(now - absl::Hours(1), Deadline());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE(snapshot->sessions.empty());
  EXPECT_TRUE(snapshot->subjects.empty());
}

}  // namespace
}  // namespace token::testing
