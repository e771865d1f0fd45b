// The revocation feed against a stalled backend and against notifications it
// did not expect (spoofed, far-future, malformed): a replica never keeps
// answering "valid" for a revoked token beyond the freshness bound, and a
// notification is only a hint to re-read the authoritative row.
#include <signal.h>
#include <sys/types.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "server/common/clock.h"
#include "server/common/error_reason.h"
#include "server/common/random.h"
#include "server/jwt/claims.h"
#include "server/jwt/signer.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"
#include "server/session/access_verifier.h"
#include "server/session/request_validation.h"
#include "server/session/revocation_set.h"
#include "server/store/pg_revocation_feed.h"
#include "server/store/pg_session_store.h"
#include "tests/harness/poll.h"
#include "tests/store/store_test_util.h"

namespace token::testing {
namespace {

constexpr char kIssuer[] = "token-service";
constexpr char kAudience[] = "api";
const absl::Duration kRetention = absl::Seconds(15 * 60 + 30);
constexpr absl::Duration kClockSkew = absl::Seconds(30);
// 2100-01-01T00:00:00Z in microseconds: the spoofed "revoked at".
constexpr char kFarFutureUs[] = "4102444800000000";

const RsaKeyPtr& SigningKey() {
  static const RsaKeyPtr key = [] {
    absl::StatusOr<RsaKeyPtr> k = RsaKey::Generate(2048);
    if (!k.ok()) std::abort();
    return *k;
  }();
  return key;
}

KeySetPtr TestKeys() {
  absl::StatusOr<KeySetPtr> set = KeySet::Create(SigningKey(), {});
  if (!set.ok()) std::abort();
  return *set;
}

// AccessTokenFor: a token for the session issued a second ago, valid 15 minutes.
std::string AccessTokenFor(const std::string& session_id, const std::string& subject) {
  AccessClaims claims;
  claims.issuer = kIssuer;
  claims.subject = subject;
  claims.audience = kAudience;
  claims.session_id = session_id;
  claims.token_id = UuidToString(NewUuidV4());
  claims.issued_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 1);
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + absl::Minutes(15);
  absl::StatusOr<std::string> token = SignAccessToken(claims, *SigningKey());
  if (!token.ok()) std::abort();
  return *token;
}

// Replica: what token-server wires together for VerifyAccess — a revocation
// set fed by the database feed, and the verifier reading it.
class Replica {
 public:
  Replica()
      : keys_(TestKeys()),
        revocations_(kRetention, kRevocationFeedMaxStaleness),
        verifier_({.issuer = kIssuer, .default_audience = kAudience, .clock_skew = kClockSkew},
                  keys_, revocations_, clock_),
        feed_(
            MigratedConninfo(), kRetention, kClockSkew, clock_,
            {
                .on_snapshot = [this](const RevocationSnapshot& s) { revocations_.ReplaceAll(s); },
                .on_session = [this](const std::string& id,
                                     absl::Time at) { revocations_.AddSession(id, at); },
                .on_subject = [this](const std::string& subject,
                                     absl::Time at) { revocations_.AddSubject(subject, at); },
                .on_fresh = [this](absl::Time at) { revocations_.MarkFresh(at); },
                .on_lost = [this] { revocations_.MarkOutOfSync(); },
                .is_valid_subject = [](absl::string_view s) { return ValidateSubject(s).ok(); },
            }) {
    feed_.Start();
  }

  absl::StatusOr<AccessClaims> Verify(const std::string& token) const {
    return verifier_.Verify({token, "", {}});
  }
  bool InSync() const { return revocations_.InSync(clock_.Now()); }
  RevocationSet& revocations() { return revocations_; }
  const PgRevocationFeed& feed() const { return feed_; }

 private:
  RealClock clock_;
  KeyProvider keys_;
  RevocationSet revocations_;
  AccessVerifier verifier_;
  PgRevocationFeed feed_;
};

bool FailsClosedOrRevoked(const absl::StatusOr<AccessClaims>& result) {
  if (result.ok()) return false;
  const std::optional<ErrorReason> reason = ReasonOf(result.status());
  return reason == ErrorReason::SERVICE_NOT_READY || reason == ErrorReason::TOKEN_REVOKED;
}

// FeedBackendPids: the backends serving a feed's connection.
std::vector<pid_t> FeedBackendPids() {
  absl::StatusOr<std::string> out = PostgresEnvironment::Get().Query(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'token-server-feed'");
  EXPECT_TRUE(out.ok()) << out.status();
  std::vector<pid_t> pids;
  if (!out.ok()) return pids;
  for (absl::string_view line : absl::StrSplit(*out, '\n', absl::SkipEmpty())) {
    int pid = 0;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

void Notify(const std::string& payload) {
  pqxx::connection conn(MigratedConninfo());
  pqxx::nontransaction tx(conn);
  tx.exec("SELECT pg_notify('token_revocations', " + tx.quote(payload) + ")");
}

// Barrier revokes a fresh marker subject through the store and waits
// until the replica has it: notifications sent before it have been handled.
void Barrier(PgSessionStore& store, Replica& replica) {
  const std::string marker = absl::StrCat("marker-", UuidToString(NewUuidV4()));
  ASSERT_TRUE(store.RevokeSubject(marker, "", MicrosNow(), std::nullopt, Deadline()).ok());
  ASSERT_TRUE(PollUntil([&] { return replica.revocations().SubjectRevokedAt(marker).has_value(); },
                        absl::Seconds(10)));
}

// A stopped (SIGSTOP) feed backend still ACKs TCP and keeps its socket open,
// so nothing at the connection level notices it. A session revoked through
// another replica meanwhile must stop verifying here within the freshness
// bound: the replica fails closed (SERVICE_NOT_READY), and once it has
// reconnected and reloaded, answers TOKEN_REVOKED.
TEST(FeedSecurityTest, StalledFeedBackendFailsClosedWithinBound) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  Replica replica;
  RefreshToken refresh;
  NewSession s = NewSessionFor("stalled-feed", MicrosNow(), &refresh);
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());
  const std::string access = AccessTokenFor(s.session_id, s.subject);
  ASSERT_TRUE(PollUntil([&] { return replica.Verify(access).ok(); }, absl::Seconds(10)));

  std::vector<pid_t> pids = FeedBackendPids();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGSTOP), 0);
  absl::Cleanup resume = [&] { kill(pids[0], SIGCONT); };

  ASSERT_TRUE(*store->RevokeSession(s.session_id, "", MicrosNow(), Deadline(), nullptr));
  const absl::Time revoked = absl::Now();
  // The bound is measured from the stop; the revocation came right after it.
  const absl::Duration bound = kRevocationFeedMaxStaleness + absl::Seconds(1);
  EXPECT_TRUE(PollUntil([&] { return FailsClosedOrRevoked(replica.Verify(access)); }, bound))
      << "still valid " << absl::Now() - revoked << " after the revocation";
  // The feed gives up on the stopped backend, reconnects and reloads, with
  // the old backend still stopped.
  EXPECT_TRUE(PollUntil(
      [&] { return ReasonOf(replica.Verify(access).status()) == ErrorReason::TOKEN_REVOKED; },
      absl::Seconds(20)));
}

// Anyone who can NOTIFY the channel must not lock a subject out: a far-future
// subject revocation with no row behind it is ignored, and the subject's new
// tokens stay valid.
TEST(FeedSecurityTest, SpoofedSubjectNotificationIsIgnored) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  Replica replica;
  ASSERT_TRUE(PollUntil([&] { return replica.InSync(); }, absl::Seconds(10)));
  RefreshToken refresh;
  NewSession s = NewSessionFor("alice-spoofed", MicrosNow(), &refresh);
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());

  Notify(absl::StrCat("subject ", kFarFutureUs, " alice-spoofed"));
  Notify(absl::StrCat("session ", s.session_id, " ", kFarFutureUs));
  Barrier(*store, replica);

  EXPECT_FALSE(replica.revocations().SubjectRevokedAt("alice-spoofed").has_value());
  EXPECT_TRUE(replica.Verify(AccessTokenFor(s.session_id, s.subject)).ok());
}

// A notification for a revocation that exists applies the row's time, not
// the payload's.
TEST(FeedSecurityTest, NotificationAppliesTheRowNotThePayload) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  Replica replica;
  ASSERT_TRUE(PollUntil([&] { return replica.InSync(); }, absl::Seconds(10)));
  const absl::Time row_time = MicrosNow() - absl::Minutes(1);
  ASSERT_TRUE(store->RevokeSubject("bob-row", "", row_time, std::nullopt, Deadline()).ok());
  RefreshToken refresh;
  NewSession s = NewSessionFor("bob-row", row_time - absl::Minutes(1), &refresh);
  ASSERT_TRUE(store->CreateSession(s, Deadline()).ok());
  ASSERT_TRUE(*store->RevokeSession(s.session_id, "", row_time, Deadline(), nullptr));

  Notify(absl::StrCat("subject ", kFarFutureUs, " bob-row"));
  Notify(absl::StrCat("session ", s.session_id, " ", kFarFutureUs));
  Barrier(*store, replica);

  EXPECT_EQ(replica.revocations().SubjectRevokedAt("bob-row"), row_time);
  EXPECT_TRUE(replica.revocations().IsRevoked(s.session_id, "", absl::InfinitePast()));
  // Pruned as of the row's time: a payload time would have kept it for ever.
  replica.revocations().Prune(row_time + kRetention + absl::Seconds(1));
  EXPECT_FALSE(replica.revocations().IsRevoked(s.session_id, "", absl::InfinitePast()));
  EXPECT_FALSE(replica.revocations().SubjectRevokedAt("bob-row").has_value());
}

// A far-future row (written by a replica whose clock jumped) is clamped to
// now + clock skew on the snapshot path too.
TEST(FeedSecurityTest, SnapshotClampsFarFutureRevocation) {
  ASSERT_TRUE(PostgresEnvironment::Get()
                  .Psql(absl::StrCat("INSERT INTO subject_revocations (subject, revoked_at) "
                                     "VALUES ('carol-future', token_ts(",
                                     kFarFutureUs, "))"))
                  .ok());
  Replica replica;
  ASSERT_TRUE(PollUntil([&] { return replica.InSync(); }, absl::Seconds(10)));
  std::optional<absl::Time> at = replica.revocations().SubjectRevokedAt("carol-future");
  ASSERT_TRUE(at.has_value());
  EXPECT_LE(*at, absl::Now() + kClockSkew);
}

// Malformed notifications are ignored and counted; the feed stays in sync
// and keeps applying real revocations.
TEST(FeedSecurityTest, MalformedNotificationsAreIgnoredAndCounted) {
  auto store = PgSessionStore::Create(MigratedConninfo(), 1);
  Replica replica;
  ASSERT_TRUE(PollUntil([&] { return replica.InSync(); }, absl::Seconds(10)));
  const std::vector<std::string> garbage = {
      "",
      "session",
      "session not-a-uuid 1",
      "session 0B8F5A34-4C55-4E8E-9A53-3BB2B2F1C2D1x 1",
      "session {0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1} 1",
      "session 0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1 soon",
      "subject 1",
      "subject soon alice",
      "subject 1 tab\tin-subject",
      absl::StrCat("subject 1 ", std::string(256, 'a')),
      "everything 1 alice",
      "'; DROP TABLE sessions; --",
  };
  for (const std::string& payload : garbage) Notify(payload);
  Barrier(*store, replica);
  EXPECT_EQ(replica.feed().ignored_notifications(), static_cast<int64_t>(garbage.size()));
  EXPECT_TRUE(replica.InSync());
  EXPECT_FALSE(replica.revocations().SubjectRevokedAt("alice").has_value());
}

}  // namespace
}  // namespace token::testing
