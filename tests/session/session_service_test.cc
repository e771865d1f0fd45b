#include "server/session/session_service.h"

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/base64url.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/random.h"
#include "server/jwt/verifier.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"
#include "server/session/access_verifier.h"
#include "server/session/refresh_token.h"
#include "server/session/revocation_set.h"
#include "tests/common/fake_clock.h"
#include "tests/common/status_matchers.h"
#include "tests/keys/test_keys.h"
#include "tests/session/fake_session_store.h"

namespace token {
namespace {

using test::FakeSessionStore;
using test::HasReason;

// 2023-11-14T22:13:20.250Z: a sub-second start shows that iat is truncated.
const absl::Time kStart = absl::FromUnixSeconds(1700000000) + absl::Milliseconds(250);
constexpr char kIssuer[] = "token-service";
constexpr char kDefaultAudience[] = "api";

const KeySetPtr& TestKeys() { return testing::TestKeySet(); }

SessionOptions DefaultOptions() {
  SessionOptions options;
  options.issuer = kIssuer;
  options.default_audience = kDefaultAudience;
  options.access_ttl = absl::Minutes(15);
  options.refresh_idle_ttl = absl::Hours(168);
  options.refresh_absolute_ttl = absl::Hours(720);
  options.reuse_grace = absl::Seconds(10);
  return options;
}

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest()
      : clock_(kStart),
        store_(&clock_),
        keys_(TestKeys()),
        chain_(std::string(32, 'K')),
        revocations_(absl::Minutes(15) + absl::Seconds(30)) {
    revocations_.ReplaceAll({});
    Reconfigure(DefaultOptions());
  }

  // Reconfigure rebuilds the service with `options` over the same store.
  void Reconfigure(SessionOptions options) {
    options_ = options;
    service_ =
        std::make_unique<SessionService>(options, store_, keys_, chain_, clock_, revocations_);
  }

  absl::Time Deadline() const { return clock_.Now() + absl::Seconds(5); }

  absl::StatusOr<IssuedTokens> Issue(const std::string& subject = "alice",
                                     std::vector<std::string> roles = {"reader"},
                                     const std::string& audience = "") {
    IssueRequest request;
    request.subject = subject;
    request.roles = std::move(roles);
    request.audience = audience;
    request.client = {"test-agent/1.0", "192.0.2.7"};
    return service_->Issue(request, Deadline());
  }

  absl::StatusOr<IssuedTokens> Refresh(const std::string& refresh_token,
                                       std::optional<ClientMetadata> client = std::nullopt,
                                       absl::string_view peer = "192.0.2.1") {
    return service_->Refresh(refresh_token, client, Deadline(), peer);
  }

  // VerifyJwt checks an access token's signature and claims at the clock's now.
  absl::StatusOr<AccessClaims> VerifyJwt(const std::string& access_token,
                                         const std::string& audience = kDefaultAudience) {
    VerifyOptions options;
    options.issuer = kIssuer;
    options.audience = audience;
    return VerifyAccessToken(access_token, *keys_.Current(), options, clock_.Now());
  }

  // VerifyAccess runs the full VerifyAccess path (JWT + revocation set).
  absl::StatusOr<AccessClaims> VerifyAccess(const std::string& access_token) {
    AccessVerifierOptions options;
    options.issuer = kIssuer;
    options.default_audience = kDefaultAudience;
    AccessVerifier verifier(options, keys_, revocations_, clock_);
    return verifier.Verify({access_token, "", {}});
  }

  // Generation returns the stored generation of `session_id`.
  int64_t Generation(const std::string& session_id) {
    std::optional<FakeSessionStore::StoredSession> row = store_.Find(session_id);
    return row.has_value() ? row->row.generation : -1;
  }

  bool RowRevoked(const std::string& session_id) {
    std::optional<FakeSessionStore::StoredSession> row = store_.Find(session_id);
    return row.has_value() && row->row.revoked_at.has_value();
  }

  FakeClock clock_;
  FakeSessionStore store_;
  KeyProvider keys_;
  RefreshSecretChain chain_;
  RevocationSet revocations_;
  SessionOptions options_;
  std::unique_ptr<SessionService> service_;
};

// ---------------------------------------------------------------------------
// IssueTokens

// Issue returns a canonical session id, its refresh token and a valid access token.
TEST_F(SessionServiceTest, IssueReturnsVerifiableTokenPair) {
  absl::StatusOr<IssuedTokens> tokens = Issue("alice", {"reader", "writer"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();

  std::optional<Uuid> id = ParseUuid(tokens->session_id);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(UuidToString(*id), tokens->session_id);  // Canonical, lower case.
  EXPECT_EQ((*id)[6] >> 4, 4);                       // Version 4.

  std::optional<RefreshToken> refresh = ParseRefreshToken(tokens->refresh_token);
  ASSERT_TRUE(refresh.has_value());
  EXPECT_EQ(refresh->session_id, *id);

  absl::StatusOr<AccessClaims> claims = VerifyJwt(tokens->access_token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->session_id, tokens->session_id);
  EXPECT_EQ(claims->roles, (std::vector<std::string>{"reader", "writer"}));
  EXPECT_EQ(claims->audience, kDefaultAudience);
  EXPECT_EQ(claims->issuer, kIssuer);
  EXPECT_EQ(claims->issued_at, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(claims->not_before, claims->issued_at);
  EXPECT_EQ(claims->expires_at, claims->issued_at + options_.access_ttl);
  EXPECT_EQ(tokens->access_expires_at, claims->expires_at);
  EXPECT_EQ(tokens->refresh_expires_at, kStart + options_.refresh_idle_ttl);
  EXPECT_FALSE(claims->token_id.empty());
}

// Issue stores one row with the SHA-256 of the refresh secret, never the token.
TEST_F(SessionServiceTest, IssueStoresHashNotToken) {
  absl::StatusOr<IssuedTokens> tokens = Issue("alice", {"reader"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(store_.calls().create_session, 1);
  std::optional<FakeSessionStore::StoredSession> row = store_.Find(tokens->session_id);
  ASSERT_TRUE(row.has_value());
  std::optional<RefreshToken> refresh = ParseRefreshToken(tokens->refresh_token);
  ASSERT_TRUE(refresh.has_value());
  EXPECT_EQ(row->token_hash, RefreshSecretChain::StoredHash(*refresh));
  EXPECT_NE(row->token_hash, refresh->secret);
  EXPECT_EQ(row->row.subject, "alice");
  EXPECT_EQ(row->row.roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(row->row.audience, kDefaultAudience);
  EXPECT_EQ(row->row.client.user_agent, "test-agent/1.0");
  EXPECT_EQ(row->row.client.ip_address, "192.0.2.7");
  EXPECT_EQ(row->row.generation, 0);
  EXPECT_EQ(row->row.created_at, kStart);
  EXPECT_EQ(row->row.absolute_expires_at, kStart + options_.refresh_absolute_ttl);
  EXPECT_FALSE(row->row.revoked_at.has_value());
}

// Two logins of one subject are two families with distinct ids and tokens.
TEST_F(SessionServiceTest, IssueTwiceCreatesDistinctSessions) {
  absl::StatusOr<IssuedTokens> a = Issue();
  absl::StatusOr<IssuedTokens> b = Issue();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->session_id, b->session_id);
  EXPECT_NE(a->refresh_token, b->refresh_token);
  EXPECT_NE(a->access_token, b->access_token);
  EXPECT_EQ(store_.size(), 2u);
}

// An invalid subject fails with INVALID_SUBJECT before the store is called.
TEST_F(SessionServiceTest, IssueBadSubjectFailsInvalidSubjectWithoutStoreCall) {
  for (const std::string& subject :
       {std::string(), std::string(256, 's'), std::string("a\nb"), std::string("a\0b", 3),
        std::string("\xC0\xAF"), std::string("\xED\xA0\x80")}) {
    EXPECT_TRUE(HasReason(Issue(subject).status(), ErrorReason::INVALID_SUBJECT))
        << absl::CEscape(subject);
  }
  EXPECT_EQ(store_.calls().total(), 0);
  EXPECT_EQ(store_.size(), 0u);
}

// An invalid role fails with INVALID_CLAIMS before the store is called.
TEST_F(SessionServiceTest, IssueBadRoleFailsInvalidClaimsWithoutStoreCall) {
  std::vector<std::string> too_many;
  for (int i = 0; i < 65; ++i) too_many.push_back(absl::StrCat("r", i));
  EXPECT_TRUE(HasReason(Issue("alice", too_many).status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(Issue("alice", {"ok", ""}).status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(
      HasReason(Issue("alice", {std::string(129, 'r')}).status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(Issue("alice", {"bad\x7F"}).status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_EQ(store_.calls().total(), 0);
}

// An invalid audience fails with INVALID_CLAIMS before the store is called.
TEST_F(SessionServiceTest, IssueBadAudienceFailsInvalidClaimsWithoutStoreCall) {
  EXPECT_TRUE(
      HasReason(Issue("alice", {}, std::string(256, 'a')).status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(Issue("alice", {}, "api\n").status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_TRUE(HasReason(Issue("alice", {}, "\xFF").status(), ErrorReason::INVALID_CLAIMS));
  EXPECT_EQ(store_.calls().total(), 0);
}

// Invalid client metadata fails with INVALID_CLAIMS before the store is called.
TEST_F(SessionServiceTest, IssueBadClientFailsInvalidClaimsWithoutStoreCall) {
  for (const ClientMetadata& client :
       {ClientMetadata{"agent", "not-an-ip"}, ClientMetadata{std::string(513, 'u'), ""},
        ClientMetadata{"agent", std::string("1.2.3.4\0x", 9)},
        ClientMetadata{"agent\r\n", "::1"}}) {
    IssueRequest request;
    request.subject = "alice";
    request.client = client;
    EXPECT_TRUE(
        HasReason(service_->Issue(request, Deadline()).status(), ErrorReason::INVALID_CLAIMS));
  }
  EXPECT_EQ(store_.calls().total(), 0);
}

// A request naming no audience gets the configured default; a named one is kept.
TEST_F(SessionServiceTest, IssueDefaultAudienceApplied) {
  absl::StatusOr<IssuedTokens> defaulted = Issue("alice", {}, "");
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  absl::StatusOr<AccessClaims> claims = VerifyJwt(defaulted->access_token, kDefaultAudience);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->audience, kDefaultAudience);
  EXPECT_EQ(store_.Find(defaulted->session_id)->row.audience, kDefaultAudience);

  absl::StatusOr<IssuedTokens> named = Issue("alice", {}, "billing");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_TRUE(VerifyJwt(named->access_token, "billing").ok());
  EXPECT_TRUE(HasReason(VerifyJwt(named->access_token, kDefaultAudience).status(),
                        ErrorReason::TOKEN_AUDIENCE_MISMATCH));
}

// Duplicate roles are issued once, in first-occurrence order.
TEST_F(SessionServiceTest, IssueDuplicateRolesDeduplicated) {
  absl::StatusOr<IssuedTokens> tokens = Issue("alice", {"b", "a", "b"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  absl::StatusOr<AccessClaims> claims = VerifyJwt(tokens->access_token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->roles, (std::vector<std::string>{"b", "a"}));
}

// When the idle lifetime exceeds the absolute one, refresh expiry is capped.
TEST_F(SessionServiceTest, IssueRefreshExpiryCappedAtAbsolute) {
  SessionOptions options = DefaultOptions();
  options.refresh_idle_ttl = absl::Hours(48);
  options.refresh_absolute_ttl = absl::Hours(24);
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> tokens = Issue();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->refresh_expires_at, kStart + absl::Hours(24));
}

// ---------------------------------------------------------------------------
// RefreshTokens

// Refresh hands out a new refresh token for the same session and a fresh access token.
TEST_F(SessionServiceTest, RefreshRotatesKeepingSessionId) {
  absl::StatusOr<IssuedTokens> issued = Issue("alice", {"reader"});
  ASSERT_TRUE(issued.ok()) << issued.status();
  clock_.Advance(absl::Minutes(20));
  absl::StatusOr<IssuedTokens> next = Refresh(issued->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE(next->refresh_token, issued->refresh_token);
  EXPECT_EQ(next->session_id, issued->session_id);
  EXPECT_EQ(next->refresh_expires_at, clock_.Now() + options_.refresh_idle_ttl);
  EXPECT_EQ(Generation(issued->session_id), 1);

  // The successor is the derived one, and the store now recognises it.
  const RefreshToken successor = chain_.Successor(*ParseRefreshToken(issued->refresh_token));
  EXPECT_EQ(next->refresh_token, FormatRefreshToken(successor));
  EXPECT_EQ(store_.Find(issued->session_id)->token_hash, RefreshSecretChain::StoredHash(successor));

  absl::StatusOr<AccessClaims> claims = VerifyJwt(next->access_token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->session_id, issued->session_id);
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(claims->issued_at, absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now())));
  EXPECT_EQ(claims->expires_at, claims->issued_at + options_.access_ttl);
  EXPECT_EQ(next->access_expires_at, claims->expires_at);
}

// A retry of the previous token within grace gets the same successor.
TEST_F(SessionServiceTest, RefreshRetryWithinGraceReturnsSameSuccessor) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok()) << issued.status();
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<IssuedTokens> retry = Refresh(issued->refresh_token);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->refresh_token, first->refresh_token);
  EXPECT_EQ(retry->session_id, first->session_id);
  EXPECT_NE(retry->access_token, first->access_token);  // Freshly signed.
  EXPECT_TRUE(VerifyJwt(retry->access_token).ok());
  EXPECT_EQ(Generation(issued->session_id), 1);
  EXPECT_FALSE(RowRevoked(issued->session_id));
  EXPECT_EQ(revocations_.size(), 0u);
  // The shared successor carries on normally.
  absl::StatusOr<IssuedTokens> next = Refresh(first->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(Generation(issued->session_id), 2);
}

// The grace window includes its end: a retry at exactly reuse_grace succeeds.
TEST_F(SessionServiceTest, RefreshRetryAtGraceEndSucceeds) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok());
  clock_.Advance(options_.reuse_grace);
  absl::StatusOr<IssuedTokens> retry = Refresh(issued->refresh_token);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->refresh_token, first->refresh_token);
}

// Reuse after grace revokes the family: SESSION_REVOKED and TOKEN_REVOKED follow.
TEST_F(SessionServiceTest, RefreshReusedTokenRevokesFamily) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(VerifyAccess(first->access_token).ok());
  clock_.Advance(options_.reuse_grace + absl::Microseconds(1));

  EXPECT_TRUE(
      HasReason(Refresh(issued->refresh_token).status(), ErrorReason::REFRESH_TOKEN_REUSED));
  EXPECT_TRUE(RowRevoked(issued->session_id));
  EXPECT_TRUE(revocations_.IsRevoked(issued->session_id, "alice", clock_.Now()));
  EXPECT_TRUE(HasReason(Refresh(first->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_TRUE(HasReason(Refresh(issued->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_TRUE(HasReason(VerifyAccess(first->access_token).status(), ErrorReason::TOKEN_REVOKED));
  EXPECT_TRUE(HasReason(VerifyAccess(issued->access_token).status(), ErrorReason::TOKEN_REVOKED));
}

// Once the successor has been used, the previous token is reuse even in grace.
TEST_F(SessionServiceTest, RefreshParentAfterSuccessorUsedIsReused) {
  absl::StatusOr<IssuedTokens> t0 = Issue();
  ASSERT_TRUE(t0.ok());
  absl::StatusOr<IssuedTokens> t1 = Refresh(t0->refresh_token);
  ASSERT_TRUE(t1.ok());
  absl::StatusOr<IssuedTokens> t2 = Refresh(t1->refresh_token);
  ASSERT_TRUE(t2.ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(HasReason(Refresh(t0->refresh_token).status(), ErrorReason::REFRESH_TOKEN_REUSED));
  EXPECT_TRUE(HasReason(Refresh(t2->refresh_token).status(), ErrorReason::SESSION_REVOKED));
}

// A chain of 100 rotations works, every token is new, and the generation counts them.
TEST_F(SessionServiceTest, RefreshChainOf100Succeeds) {
  absl::StatusOr<IssuedTokens> current = Issue();
  ASSERT_TRUE(current.ok());
  std::set<std::string> seen = {current->refresh_token};
  for (int i = 0; i < 100; ++i) {
    clock_.Advance(absl::Minutes(1));
    absl::StatusOr<IssuedTokens> next = Refresh(current->refresh_token);
    ASSERT_TRUE(next.ok()) << "refresh " << i << ": " << next.status();
    EXPECT_EQ(next->session_id, current->session_id);
    EXPECT_TRUE(seen.insert(next->refresh_token).second) << "repeated token at " << i;
    current = std::move(next);
  }
  EXPECT_EQ(Generation(current->session_id), 100);
  EXPECT_FALSE(RowRevoked(current->session_id));
}

// A token five generations old is reuse, even inside the grace window.
TEST_F(SessionServiceTest, RefreshFiveGenerationsOldIsReused) {
  absl::StatusOr<IssuedTokens> t0 = Issue();
  ASSERT_TRUE(t0.ok());
  std::string current = t0->refresh_token;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<IssuedTokens> next = Refresh(current);
    ASSERT_TRUE(next.ok()) << next.status();
    current = next->refresh_token;
  }
  EXPECT_TRUE(HasReason(Refresh(t0->refresh_token).status(), ErrorReason::REFRESH_TOKEN_REUSED));
  EXPECT_TRUE(RowRevoked(t0->session_id));
  EXPECT_TRUE(HasReason(Refresh(current).status(), ErrorReason::SESSION_REVOKED));
}

// Reuse is recognised however old the presented generation is: an authentic
// token that is neither current nor the grace parent is a copy.
TEST_F(SessionServiceTest, RefreshAnyGenerationsOldIsReused) {
  for (int age : {2, 16, 20, 21, 50}) {
    absl::StatusOr<IssuedTokens> t0 = Issue();
    ASSERT_TRUE(t0.ok());
    std::string current = t0->refresh_token;
    for (int i = 0; i < age; ++i) {
      absl::StatusOr<IssuedTokens> next = Refresh(current);
      ASSERT_TRUE(next.ok()) << next.status();
      current = next->refresh_token;
    }
    EXPECT_TRUE(HasReason(Refresh(t0->refresh_token).status(), ErrorReason::REFRESH_TOKEN_REUSED))
        << "age " << age;
    EXPECT_TRUE(RowRevoked(t0->session_id)) << "age " << age;
  }
}

// A forged token of a real session is REFRESH_TOKEN_INVALID and revokes nothing.
TEST_F(SessionServiceTest, RefreshForgedTokenFailsInvalidAndRevokesNothing) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Minutes(1));
  const RefreshToken forged{*ParseUuid(issued->session_id), RandomBytes(32)};
  EXPECT_TRUE(
      HasReason(Refresh(FormatRefreshToken(forged)).status(), ErrorReason::REFRESH_TOKEN_INVALID));
  // (The successor of a forged token, derived with the server's own key, would
  // carry a valid tag: only the key's holder can make one, and it is taken
  // for a copy of an old generation, i.e. reuse. See RefreshAnyGenerations…)
  // A token derived with another server key is not ours either.
  const RefreshSecretChain other_chain(std::string(32, 'X'));
  const RefreshToken other_successor =
      other_chain.Successor(*ParseRefreshToken(issued->refresh_token));
  EXPECT_TRUE(HasReason(Refresh(FormatRefreshToken(other_successor)).status(),
                        ErrorReason::REFRESH_TOKEN_INVALID));
  EXPECT_FALSE(RowRevoked(issued->session_id));
  EXPECT_EQ(revocations_.size(), 0u);
  EXPECT_TRUE(Refresh(first->refresh_token).ok());
}

// A well-formed token of an unknown session is REFRESH_TOKEN_INVALID.
TEST_F(SessionServiceTest, RefreshUnknownSessionFailsInvalid) {
  const RefreshToken unknown = chain_.NewToken(NewUuidV4());
  EXPECT_TRUE(
      HasReason(Refresh(FormatRefreshToken(unknown)).status(), ErrorReason::REFRESH_TOKEN_INVALID));
  EXPECT_EQ(store_.calls().rotate_session, 1);
}

// A malformed token is REFRESH_TOKEN_INVALID without any store call.
TEST_F(SessionServiceTest, RefreshMalformedFailsInvalidWithoutStoreCall) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  store_.ResetCalls();
  const std::string& good = issued->refresh_token;
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("tsr1_"),
        absl::StrCat("tsr2_", good.substr(5)), good.substr(0, good.size() - 1), good + "A",
        absl::StrCat(good.substr(0, 10), "+", good.substr(11)), std::string(1 << 20, 'A'),
        absl::StrCat(" ", good.substr(1)), absl::StrCat("Bearer ", good)}) {
    EXPECT_TRUE(HasReason(Refresh(bad).status(), ErrorReason::REFRESH_TOKEN_INVALID))
        << absl::CEscape(bad.substr(0, 80));
  }
  EXPECT_EQ(store_.calls().total(), 0);
  EXPECT_FALSE(RowRevoked(issued->session_id));
}

// Bad client metadata on a refresh is refused before the store is called.
TEST_F(SessionServiceTest, RefreshBadClientFailsInvalidRequestWithoutStoreCall) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  store_.ResetCalls();
  EXPECT_TRUE(HasReason(Refresh(issued->refresh_token, ClientMetadata{"ua", "bogus"}).status(),
                        ErrorReason::INVALID_REQUEST));
  EXPECT_EQ(store_.calls().total(), 0);
  EXPECT_EQ(Generation(issued->session_id), 0);
}

// Client metadata given with a refresh replaces the recorded one; none keeps it.
TEST_F(SessionServiceTest, RefreshClientReplacesRecordedMetadata) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> next = Refresh(issued->refresh_token);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(store_.Find(issued->session_id)->row.client.ip_address, "192.0.2.7");
  absl::StatusOr<IssuedTokens> again =
      Refresh(next->refresh_token, ClientMetadata{"new-agent", "2001:db8::9"});
  ASSERT_TRUE(again.ok()) << again.status();
  const ClientMetadata recorded = store_.Find(issued->session_id)->row.client;
  EXPECT_EQ(recorded.user_agent, "new-agent");
  EXPECT_EQ(recorded.ip_address, "2001:db8::9");
}

// A token unused for the idle lifetime is REFRESH_TOKEN_EXPIRED.
TEST_F(SessionServiceTest, RefreshAfterIdleTtlFailsExpired) {
  absl::StatusOr<IssuedTokens> a = Issue();
  absl::StatusOr<IssuedTokens> b = Issue();
  ASSERT_TRUE(a.ok() && b.ok());
  clock_.Advance(options_.refresh_idle_ttl - absl::Seconds(1));
  EXPECT_TRUE(Refresh(a->refresh_token).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(HasReason(Refresh(b->refresh_token).status(), ErrorReason::REFRESH_TOKEN_EXPIRED));
  EXPECT_FALSE(RowRevoked(b->session_id));
  EXPECT_EQ(revocations_.size(), 0u);
}

// Absolute expiry ends even a busy session; refresh expiry never passes it.
TEST_F(SessionServiceTest, RefreshPastAbsoluteTtlFailsExpiredDespiteActivity) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  const absl::Time absolute = kStart + options_.refresh_absolute_ttl;
  std::string current = issued->refresh_token;
  absl::Time last_expiry = issued->refresh_expires_at;
  int refreshes = 0;
  while (clock_.Now() + absl::Hours(24) < absolute) {
    clock_.Advance(absl::Hours(24));
    absl::StatusOr<IssuedTokens> next = Refresh(current);
    ASSERT_TRUE(next.ok()) << "at " << clock_.Now() << ": " << next.status();
    EXPECT_LE(next->refresh_expires_at, absolute);
    last_expiry = next->refresh_expires_at;
    current = next->refresh_token;
    ++refreshes;
  }
  EXPECT_EQ(refreshes, 29);
  EXPECT_EQ(last_expiry, absolute);  // Capped, not now + 7 days.
  clock_.Set(absolute - absl::Microseconds(1));
  absl::StatusOr<IssuedTokens> last = Refresh(current);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->refresh_expires_at, absolute);
  clock_.Set(absolute);
  EXPECT_TRUE(HasReason(Refresh(last->refresh_token).status(), ErrorReason::REFRESH_TOKEN_EXPIRED));
}

// With the grace window disabled, an immediate retry of the previous token is reuse.
TEST_F(SessionServiceTest, RefreshGraceZeroImmediateRetryIsReused) {
  SessionOptions options = DefaultOptions();
  options.reuse_grace = absl::ZeroDuration();
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(
      HasReason(Refresh(issued->refresh_token).status(), ErrorReason::REFRESH_TOKEN_REUSED));
  EXPECT_TRUE(RowRevoked(issued->session_id));
}

// Concurrent refreshes of one token all get one successor; no fork.
TEST_F(SessionServiceTest, RefreshConcurrentSameTokenYieldsOneSuccessor) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  constexpr int kCallers = 8;
  std::vector<absl::StatusOr<IssuedTokens>> results(kCallers, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] { results[i] = Refresh(issued->refresh_token); });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    EXPECT_EQ(results[i]->refresh_token, results[0]->refresh_token);
  }
  EXPECT_EQ(Generation(issued->session_id), 1);
  EXPECT_EQ(store_.calls().rotate_session, kCallers);
}

// A store outage is UNAVAILABLE / DATABASE_UNAVAILABLE everywhere; nothing written.
TEST_F(SessionServiceTest, StoreUnavailablePropagatesDatabaseUnavailable) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  store_.SetUnavailable(true);
  const ErrorReason kDown = ErrorReason::DATABASE_UNAVAILABLE;
  EXPECT_TRUE(HasReason(Issue().status(), kDown));
  EXPECT_TRUE(HasReason(Refresh(issued->refresh_token).status(), kDown));
  EXPECT_TRUE(HasReason(service_->RevokeAll("alice", "", Deadline()).status(), kDown));
  EXPECT_TRUE(
      HasReason(service_->RevokeSession(issued->session_id, "", Deadline()).status(), kDown));
  EXPECT_TRUE(HasReason(service_->ListSessions("alice", 10, "", Deadline()).status(), kDown));
  EXPECT_EQ(store_.size(), 1u);
  EXPECT_EQ(Generation(issued->session_id), 0);
  EXPECT_FALSE(RowRevoked(issued->session_id));
  EXPECT_EQ(revocations_.size(), 0u);  // A failed revoke is not recorded locally.

  store_.SetUnavailable(false);
  EXPECT_TRUE(Refresh(issued->refresh_token).ok());
}

// A deadline that has already passed is UNAVAILABLE, never a partial write.
TEST_F(SessionServiceTest, PassedDeadlineFailsUnavailable) {
  IssueRequest request;
  request.subject = "alice";
  const absl::Status status = service_->Issue(request, clock_.Now()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(store_.size(), 0u);
}

// ---------------------------------------------------------------------------
// RevokeAll / RevokeSession

// RevokeAll counts and revokes the subject's live sessions only.
TEST_F(SessionServiceTest, RevokeAllCountsLiveSessionsAndRevokesThem) {
  absl::StatusOr<IssuedTokens> a1 = Issue("alice");
  absl::StatusOr<IssuedTokens> a2 = Issue("alice");
  absl::StatusOr<IssuedTokens> a3 = Issue("alice");
  absl::StatusOr<IssuedTokens> b1 = Issue("bob");
  ASSERT_TRUE(a1.ok() && a2.ok() && a3.ok() && b1.ok());
  ASSERT_TRUE(*service_->RevokeSession(a3->session_id, "lost phone", Deadline()));
  clock_.Advance(absl::Seconds(2));

  absl::StatusOr<int64_t> revoked = service_->RevokeAll("alice", "password reset", Deadline());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(HasReason(Refresh(a1->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_TRUE(HasReason(Refresh(a2->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_TRUE(Refresh(b1->refresh_token).ok());
  EXPECT_EQ(store_.SubjectRevokedAt("alice"), clock_.Now());
  EXPECT_TRUE(HasReason(VerifyAccess(a1->access_token).status(), ErrorReason::TOKEN_REVOKED));
  EXPECT_TRUE(VerifyAccess(b1->access_token).ok());

  // Repeating it finds nothing left to revoke.
  absl::StatusOr<int64_t> again = service_->RevokeAll("alice", "", Deadline());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

// A login after RevokeAll (in a later second) yields tokens that work.
TEST_F(SessionServiceTest, IssueAfterRevokeAllLaterSecondSucceeds) {
  ASSERT_TRUE(service_->RevokeAll("alice", "", Deadline()).ok());
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<IssuedTokens> fresh = Issue("alice");
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(VerifyAccess(fresh->access_token).ok());
  EXPECT_TRUE(Refresh(fresh->refresh_token).ok());
}

// A login right after RevokeAll, in the same second, gets a usable access token.
TEST_F(SessionServiceTest, IssueSameSecondAfterRevokeAllSucceeds) {
  ASSERT_TRUE(service_->RevokeAll("alice", "password change", Deadline()).ok());
  clock_.Advance(absl::Milliseconds(100));  // Still 22:13:20 UTC.
  absl::StatusOr<IssuedTokens> fresh = Issue("alice");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  absl::StatusOr<IssuedTokens> refreshed = Refresh(fresh->refresh_token);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();  // The new session itself is live.
  // Tokens of the new session start at the next second, after the revocation.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(VerifyAccess(fresh->access_token).ok());
  EXPECT_TRUE(VerifyAccess(refreshed->access_token).ok());
}

// RevokeAll validates subject and reason before the store is called.
TEST_F(SessionServiceTest, RevokeAllBadInputFailsWithoutStoreCall) {
  EXPECT_TRUE(
      HasReason(service_->RevokeAll("", "", Deadline()).status(), ErrorReason::INVALID_SUBJECT));
  EXPECT_TRUE(HasReason(service_->RevokeAll(std::string(256, 'a'), "", Deadline()).status(),
                        ErrorReason::INVALID_SUBJECT));
  EXPECT_TRUE(HasReason(service_->RevokeAll("alice", std::string(257, 'r'), Deadline()).status(),
                        ErrorReason::INVALID_REQUEST));
  EXPECT_EQ(store_.calls().total(), 0);
  EXPECT_EQ(revocations_.size(), 0u);
}

// RevokeSession is true once, then false; refresh and access then fail.
TEST_F(SessionServiceTest, RevokeSessionTrueThenFalse) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<bool> first = service_->RevokeSession(issued->session_id, "logout", Deadline());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  absl::StatusOr<bool> second = service_->RevokeSession(issued->session_id, "logout", Deadline());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(*second);
  EXPECT_EQ(store_.Find(issued->session_id)->row.revoke_reason, "logout");
  EXPECT_TRUE(revocations_.IsRevoked(issued->session_id, "alice", clock_.Now()));
  EXPECT_TRUE(HasReason(Refresh(issued->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_TRUE(HasReason(VerifyAccess(issued->access_token).status(), ErrorReason::TOKEN_REVOKED));
}

// An unknown but well-formed session id is false, not an error.
TEST_F(SessionServiceTest, RevokeSessionUnknownReturnsFalse) {
  absl::StatusOr<bool> revoked = service_->RevokeSession(UuidToString(NewUuidV4()), "", Deadline());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_FALSE(*revoked);
  EXPECT_EQ(revocations_.size(), 0u);
}

// An upper-case UUID names the same session (stored canonically).
TEST_F(SessionServiceTest, RevokeSessionUpperCaseIdRevokesCanonical) {
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<bool> revoked =
      service_->RevokeSession(absl::AsciiStrToUpper(issued->session_id), "", Deadline());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_TRUE(*revoked);
  EXPECT_TRUE(revocations_.IsRevoked(issued->session_id, "alice", clock_.Now()));
}

// A session id that is not a canonical UUID is INVALID_SESSION_ID without a store call.
TEST_F(SessionServiceTest, RevokeSessionBadIdFailsInvalidSessionId) {
  for (const std::string& id :
       {std::string(), std::string("not-a-uuid"), std::string("0b8f5a344c554e8e9a533bb2b2f1c2d1"),
        std::string("{0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1}"),
        std::string("0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2dz"),
        std::string("0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1 ")}) {
    EXPECT_TRUE(HasReason(service_->RevokeSession(id, "", Deadline()).status(),
                          ErrorReason::INVALID_SESSION_ID))
        << id;
  }
  EXPECT_TRUE(HasReason(
      service_->RevokeSession(UuidToString(NewUuidV4()), std::string(257, 'r'), Deadline())
          .status(),
      ErrorReason::INVALID_REQUEST));
  EXPECT_EQ(store_.calls().total(), 0);
}

// ---------------------------------------------------------------------------
// ListSessions

// 25 sessions in pages of 10 are 10, 10, 5, newest first, no duplicates.
TEST_F(SessionServiceTest, ListSessionsPaginatesNewestFirstWithoutDuplicates) {
  std::set<std::string> issued;
  for (int i = 0; i < 25; ++i) {
    absl::StatusOr<IssuedTokens> tokens = Issue("alice");
    ASSERT_TRUE(tokens.ok());
    issued.insert(tokens->session_id);
    ASSERT_TRUE(Issue("bob").ok());
    clock_.Advance(absl::Seconds(1));
  }
  std::vector<SessionView> all;
  std::vector<size_t> page_sizes;
  std::string page_token;
  do {
    absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 10, page_token, Deadline());
    ASSERT_TRUE(page.ok()) << page.status();
    page_sizes.push_back(page->sessions.size());
    all.insert(all.end(), page->sessions.begin(), page->sessions.end());
    page_token = page->next_page_token;
    ASSERT_LE(page_sizes.size(), 4u);
  } while (!page_token.empty());
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5}));
  std::set<std::string> listed;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].subject, "alice");
    EXPECT_TRUE(listed.insert(all[i].session_id).second) << "duplicate " << all[i].session_id;
    if (i > 0) {
      EXPECT_GT(all[i - 1].created_at, all[i].created_at) << i;
    }
  }
  EXPECT_EQ(listed, issued);
}

// Sessions created in the same instant still page without duplicates or gaps.
TEST_F(SessionServiceTest, ListSessionsSameCreatedAtNoDuplicates) {
  std::set<std::string> issued;
  for (int i = 0; i < 25; ++i) {
    absl::StatusOr<IssuedTokens> tokens = Issue("alice");
    ASSERT_TRUE(tokens.ok());
    issued.insert(tokens->session_id);
  }
  std::set<std::string> listed;
  std::string page_token;
  int pages = 0;
  do {
    absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 7, page_token, Deadline());
    ASSERT_TRUE(page.ok()) << page.status();
    for (const SessionView& row : page->sessions) {
      EXPECT_TRUE(listed.insert(row.session_id).second) << "duplicate " << row.session_id;
    }
    page_token = page->next_page_token;
    ASSERT_LE(++pages, 5);
  } while (!page_token.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(listed, issued);
}

// Revoked sessions are listed with their revocation time and reason.
TEST_F(SessionServiceTest, ListSessionsIncludesRevokedSessions) {
  absl::StatusOr<IssuedTokens> issued = Issue("alice");
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(service_->RevokeSession(issued->session_id, "logout", Deadline()).ok());
  absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 0, "", Deadline());
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->sessions.size(), 1u);
  EXPECT_EQ(page->sessions[0].revoked_at, clock_.Now());
  EXPECT_EQ(page->sessions[0].revoke_reason, "logout");
  EXPECT_TRUE(page->next_page_token.empty());
}

// page_size 0 means 20.
TEST_F(SessionServiceTest, ListSessionsPageSizeZeroReturns20) {
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(Issue("alice").ok());
  absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 0, "", Deadline());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->sessions.size(), 20u);
  EXPECT_FALSE(page->next_page_token.empty());
}

// A page size above 100 is capped at 100.
TEST_F(SessionServiceTest, ListSessionsPageSize1000CappedAt100) {
  for (int i = 0; i < 130; ++i) ASSERT_TRUE(Issue("alice").ok());
  absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 1000, "", Deadline());
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->sessions.size(), 100u);
  EXPECT_FALSE(page->next_page_token.empty());
  absl::StatusOr<SessionPage> rest =
      service_->ListSessions("alice", 1000, page->next_page_token, Deadline());
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->sessions.size(), 30u);
  EXPECT_TRUE(rest->next_page_token.empty());
}

// A negative page size is INVALID_REQUEST without a store call.
TEST_F(SessionServiceTest, ListSessionsNegativePageSizeFailsInvalidRequest) {
  EXPECT_TRUE(HasReason(service_->ListSessions("alice", -1, "", Deadline()).status(),
                        ErrorReason::INVALID_REQUEST));
  EXPECT_EQ(store_.calls().total(), 0);
}

// A page token from another subject's listing, or garbage, is INVALID_PAGE_TOKEN.
TEST_F(SessionServiceTest, ListSessionsForeignPageTokenFailsInvalidPageToken) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Issue("alice").ok());
    ASSERT_TRUE(Issue("bob").ok());
  }
  absl::StatusOr<SessionPage> bobs = service_->ListSessions("bob", 1, "", Deadline());
  ASSERT_TRUE(bobs.ok());
  ASSERT_FALSE(bobs->next_page_token.empty());
  store_.ResetCalls();
  EXPECT_TRUE(
      HasReason(service_->ListSessions("alice", 1, bobs->next_page_token, Deadline()).status(),
                ErrorReason::INVALID_PAGE_TOKEN));
  EXPECT_TRUE(HasReason(service_->ListSessions("alice", 1, "garbage!", Deadline()).status(),
                        ErrorReason::INVALID_PAGE_TOKEN));
  EXPECT_TRUE(
      HasReason(service_->ListSessions("alice", 1, std::string(10000, 'A'), Deadline()).status(),
                ErrorReason::INVALID_PAGE_TOKEN));
  EXPECT_EQ(store_.calls().total(), 0);
}

// An invalid subject is INVALID_SUBJECT without a store call.
TEST_F(SessionServiceTest, ListSessionsBadSubjectFailsInvalidSubject) {
  EXPECT_TRUE(HasReason(service_->ListSessions("", 10, "", Deadline()).status(),
                        ErrorReason::INVALID_SUBJECT));
  EXPECT_EQ(store_.calls().total(), 0);
}

// ---------------------------------------------------------------------------
// Audit

// Audit lines name subject and session id, never a token or its hash.
TEST_F(SessionServiceTest, AuditLinesNameSessionButNoSecrets) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  SetLogSinkForTest([&](const std::string& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  absl::StatusOr<IssuedTokens> issued = Issue("alice");
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<IssuedTokens> first = Refresh(issued->refresh_token);
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Minutes(1));
  EXPECT_FALSE(Refresh(issued->refresh_token).ok());  // Reuse.
  absl::StatusOr<IssuedTokens> other = Issue("alice");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(service_->RevokeSession(other->session_id, "", Deadline()).ok());
  ASSERT_TRUE(service_->RevokeAll("alice", "", Deadline()).ok());
  SetLogSinkForTest(nullptr);

  std::vector<std::string> secrets;
  for (const IssuedTokens* t : {&*issued, &*first, &*other}) {
    const RefreshToken parsed = *ParseRefreshToken(t->refresh_token);
    const std::string hash = RefreshSecretChain::StoredHash(parsed);
    secrets.push_back(t->refresh_token.substr(5));
    secrets.push_back(t->access_token.substr(t->access_token.rfind('.') + 1));
    secrets.push_back(absl::BytesToHexString(hash));
    secrets.push_back(Base64UrlEncode(hash));
    secrets.push_back(Base64UrlEncode(parsed.secret));
  }
  absl::MutexLock lock(&mu);
  int reuse = 0;
  int revoke_session = 0;
  int revoke_all = 0;
  for (const std::string& line : lines) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(line.find(secret), std::string::npos) << line;
    }
    if (line.find("\"refresh_token_reused\"") != std::string::npos &&
        line.find("\"audit\":true") != std::string::npos) {
      ++reuse;
      EXPECT_NE(line.find(issued->session_id), std::string::npos) << line;
      EXPECT_NE(line.find("alice"), std::string::npos) << line;
    }
    if (line.find("\"revoke_session\"") != std::string::npos) {
      ++revoke_session;
      EXPECT_NE(line.find(other->session_id), std::string::npos) << line;
      EXPECT_NE(line.find("alice"), std::string::npos) << line;
    }
    if (line.find("\"revoke_all\"") != std::string::npos) {
      ++revoke_all;
      EXPECT_NE(line.find("alice"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(reuse, 1);
  EXPECT_EQ(revoke_session, 1);
  EXPECT_EQ(revoke_all, 1);
}

// Forged tokens from one address are answered RATE_LIMITED past the limit,
// while a genuine token from the same address still refreshes.
TEST_F(SessionServiceTest, ForgedRefreshesRateLimitedButGenuineOneSucceeds) {
  SessionOptions options = DefaultOptions();
  options.refresh_failures = {.limit = 5, .window = absl::Minutes(1)};
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  std::string forged = issued->refresh_token;
  forged[20] = forged[20] == 'A' ? 'B' : 'A';
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(HasReason(Refresh(forged).status(), ErrorReason::REFRESH_TOKEN_INVALID)) << i;
  }
  EXPECT_TRUE(HasReason(Refresh(forged).status(), ErrorReason::RATE_LIMITED));
  EXPECT_TRUE(HasReason(Refresh("garbage").status(), ErrorReason::RATE_LIMITED));
  EXPECT_EQ(store_.calls().rotate_session, 0);
  EXPECT_TRUE(Refresh(issued->refresh_token).ok());
  // Forgeries are charged to their sender only: from another address the same
  // forged token, and other garbage, are plainly invalid.
  EXPECT_TRUE(HasReason(Refresh(forged, std::nullopt, "198.51.100.9").status(),
                        ErrorReason::REFRESH_TOKEN_INVALID));
  EXPECT_TRUE(HasReason(Refresh("garbage", std::nullopt, "198.51.100.9").status(),
                        ErrorReason::REFRESH_TOKEN_INVALID));
}

// Replays of a dead session's token are limited per session without a store
// call, and never affect another live session from the same address.
TEST_F(SessionServiceTest, DeadSessionReplaysRateLimitedLiveSessionUnaffected) {
  SessionOptions options = DefaultOptions();
  options.refresh_failures = {.limit = 3, .window = absl::Minutes(1)};
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> dead = Issue();
  absl::StatusOr<IssuedTokens> live = Issue();
  ASSERT_TRUE(dead.ok() && live.ok());
  ASSERT_TRUE(service_->RevokeSession(dead->session_id, "", Deadline()).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(HasReason(Refresh(dead->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  }
  const int calls = store_.calls().rotate_session;
  EXPECT_TRUE(HasReason(Refresh(dead->refresh_token).status(), ErrorReason::RATE_LIMITED));
  EXPECT_EQ(store_.calls().rotate_session, calls);
  absl::StatusOr<IssuedTokens> next = Refresh(live->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(Refresh(next->refresh_token).ok());
}

// ---------------------------------------------------------------------------
// Security review findings (docs/SECURITY.md)

// WithTagFlipped returns `token` with one character of its MAC tag changed:
// the session id it names stays the victim's.
std::string WithTagFlipped(const std::string& token, int variant) {
  std::string forged = token;
  const size_t at = forged.size() - 3 - static_cast<size_t>(variant % 8);
  forged[at] = forged[at] == 'A' ? 'B' : 'A';
  return forged;
}

// Finding 1: forgeries naming a victim's session id, from any addresses,
// never make the victim's genuine token RATE_LIMITED.
TEST_F(SessionServiceTest, ForgeriesNamingSessionNeverLockOutGenuineToken) {
  absl::StatusOr<IssuedTokens> victim = Issue();
  ASSERT_TRUE(victim.ok());
  ASSERT_EQ(ParseRefreshToken(WithTagFlipped(victim->refresh_token, 0))->session_id,
            ParseRefreshToken(victim->refresh_token)->session_id);
  for (int i = 0; i < 100; ++i) {
    const absl::Status s = Refresh(WithTagFlipped(victim->refresh_token, i), std::nullopt,
                                   absl::StrCat("203.0.113.", i % 250))
                               .status();
    EXPECT_TRUE(HasReason(s, ErrorReason::REFRESH_TOKEN_INVALID) ||
                HasReason(s, ErrorReason::RATE_LIMITED))
        << s;
  }
  EXPECT_EQ(store_.calls().rotate_session, 0);
  absl::StatusOr<IssuedTokens> next = Refresh(victim->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
}

// Finding 7: a token larger than the verifier accepts is never issued.
TEST_F(SessionServiceTest, IssueTokenOverVerifierLimitFailsInvalidClaims) {
  std::vector<std::string> roles;
  for (int i = 0; i < 64; ++i) roles.push_back(absl::StrCat(i, std::string(125, 'r')));
  const absl::Status s = Issue("alice", roles).status();
  EXPECT_TRUE(HasReason(s, ErrorReason::INVALID_CLAIMS)) << s;
  EXPECT_NE(s.message().find("--max-token-bytes"), std::string::npos) << s;
  EXPECT_EQ(store_.calls().create_session, 0);
  // With the limit raised, the same token is issued, and it verifies.
  SessionOptions options = DefaultOptions();
  options.limits.max_access_token_bytes = 16384;
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> big = Issue("alice", roles);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_GT(big->access_token.size(), 8192u);
}

// Finding 8: a refresh that commits just before a RevokeAll and mints just
// after it hands out an access token the revocation rejects.
TEST_F(SessionServiceTest, RefreshOvertakenByRevokeAllMintsRevokedToken) {
  absl::StatusOr<IssuedTokens> issued = Issue("alice");
  ASSERT_TRUE(issued.ok());
  clock_.Advance(absl::Seconds(2));
  bool revoked = false;
  store_.SetAfterRotateHook([&] {
    if (revoked) return;
    revoked = true;
    ASSERT_TRUE(service_->RevokeAll("alice", "logout everywhere", Deadline()).ok());
  });
  absl::StatusOr<IssuedTokens> raced = Refresh(issued->refresh_token);
  store_.SetAfterRotateHook(nullptr);
  ASSERT_TRUE(raced.ok()) << raced.status();
  EXPECT_TRUE(HasReason(VerifyAccess(raced->access_token).status(), ErrorReason::TOKEN_REVOKED));
  EXPECT_TRUE(HasReason(Refresh(raced->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  // A login after the RevokeAll, in the same second, still works.
  clock_.Advance(absl::Milliseconds(1));
  absl::StatusOr<IssuedTokens> fresh = Issue("alice");
  ASSERT_TRUE(fresh.ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(VerifyAccess(fresh->access_token).ok());
}

// Finding 13: with this replica's clock off the database's beyond the bound,
// a refresh is refused as not ready and changes nothing.
TEST_F(SessionServiceTest, RefreshWithClockOffDatabaseFailsNotReady) {
  SessionOptions options = DefaultOptions();
  options.max_clock_offset = absl::Seconds(2);
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  store_.SetDatabaseClockOffset(absl::Seconds(5));
  EXPECT_TRUE(HasReason(Refresh(issued->refresh_token).status(), ErrorReason::SERVICE_NOT_READY));
  EXPECT_EQ(Generation(issued->session_id), 0);
  store_.SetDatabaseClockOffset(absl::Seconds(1));
  EXPECT_TRUE(Refresh(issued->refresh_token).ok());
}

// Finding 13: every grace replay is audited, and one from another client is
// flagged.
TEST_F(SessionServiceTest, GraceReplayAuditedAndForeignClientFlagged) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  SetLogSinkForTest([&](const std::string& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  absl::StatusOr<IssuedTokens> issued = Issue();
  ASSERT_TRUE(issued.ok());
  const ClientMetadata phone{"phone/1.0", "192.0.2.7"};
  ASSERT_TRUE(Refresh(issued->refresh_token, phone).ok());
  ASSERT_TRUE(Refresh(issued->refresh_token, phone).ok());
  ASSERT_TRUE(Refresh(issued->refresh_token, ClientMetadata{"curl/8", "198.51.100.66"}).ok());
  SetLogSinkForTest(nullptr);
  absl::MutexLock lock(&mu);
  std::vector<std::string> replays;
  for (const std::string& line : lines) {
    if (line.find("\"refresh_grace_replay\"") != std::string::npos) replays.push_back(line);
  }
  ASSERT_EQ(replays.size(), 2u);
  EXPECT_NE(replays[0].find("\"client_matches\":\"true\""), std::string::npos) << replays[0];
  EXPECT_NE(replays[1].find("\"client_matches\":\"false\""), std::string::npos) << replays[1];
  EXPECT_NE(replays[1].find("198.51.100.66"), std::string::npos) << replays[1];
}

// A flood of forged refresh tokens with invented session ids and claimed
// client addresses, far past what the failure limiter can track, never makes
// a live session's genuine refresh RATE_LIMITED; a single token replayed from
// one address is still limited after the flood.
TEST_F(SessionServiceTest, ForgedRefreshFloodDoesNotRateLimitLiveSessions) {
  SessionOptions options = DefaultOptions();
  options.refresh_failures = {.limit = 3, .window = absl::Minutes(1), .max_keys = 64};
  Reconfigure(options);
  absl::StatusOr<IssuedTokens> live = Issue();
  ASSERT_TRUE(live.ok()) << live.status();
  for (int i = 0; i < 100'000; ++i) {
    // Random session id, secret and tag: well formed, never authentic.
    const std::string forged = absl::StrCat(kRefreshTokenPrefix, Base64UrlEncode(RandomBytes(64)));
    const std::string ip = absl::StrCat("10.", i % 251, ".", (i / 251) % 251, ".", i % 7);
    const absl::Status status =
        Refresh(forged,
                i % 2 == 0 ? std::optional<ClientMetadata>({"flood/1.0", ip}) : std::nullopt)
            .status();
    ASSERT_TRUE(HasReason(status, ErrorReason::REFRESH_TOKEN_INVALID) ||
                HasReason(status, ErrorReason::RATE_LIMITED))
        << i << ": " << status;
  }
  EXPECT_EQ(store_.calls().rotate_session, 0);
  absl::StatusOr<IssuedTokens> next = Refresh(live->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(Refresh(next->refresh_token, ClientMetadata{"test-agent/1.0", "10.9.9.9"}).ok());

  const std::string replayed = absl::StrCat(kRefreshTokenPrefix, Base64UrlEncode(RandomBytes(64)));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(HasReason(Refresh(replayed, std::nullopt, "198.51.100.77").status(),
                          ErrorReason::REFRESH_TOKEN_INVALID))
        << i;
  }
  EXPECT_TRUE(HasReason(Refresh(replayed, std::nullopt, "198.51.100.77").status(),
                        ErrorReason::RATE_LIMITED));
}

// ---------------------------------------------------------------------------
// Token context: custom claims, scopes, step-up context, metadata

class SessionContextTest : public SessionServiceTest {
 protected:
  static IssueRequest ContextRequest() {
    IssueRequest request;
    request.subject = "alice";
    request.roles = {"reader"};
    request.client = {"test-agent/1.0", "192.0.2.7"};
    request.context.claims = nlohmann::json::parse(R"({"tenant":"acme","n":5,"f":{"beta":true}})");
    request.context.scopes = {"read", "write", "read"};
    request.context.auth_time = kStart - absl::Minutes(10) + absl::Milliseconds(400);
    request.context.amr = {"pwd", "otp"};
    request.context.acr = "urn:example:loa:2";
    request.metadata = {{"device", "phone"}};
    return request;
  }

  absl::StatusOr<IssuedTokens> IssueWith(const IssueRequest& request) {
    return service_->Issue(request, Deadline());
  }

  absl::StatusOr<AccessClaims> VerifyWith(VerifyAccessRequest request) {
    AccessVerifierOptions options;
    options.issuer = kIssuer;
    options.default_audience = kDefaultAudience;
    AccessVerifier verifier(options, keys_, revocations_, clock_);
    return verifier.Verify(request);
  }

  absl::StatusOr<SessionView> Update(const std::string& session_id, const SessionChanges& changes) {
    return service_->UpdateSession(session_id, changes, Deadline());
  }
};

TokenContext ExpectedContext() {
  TokenContext context;
  context.claims = R"({"f":{"beta":true},"n":5,"tenant":"acme"})";
  context.scopes = {"read", "write"};
  context.auth_time = absl::FromUnixSeconds(1700000000 - 600);
  context.amr = {"pwd", "otp"};
  context.acr = "urn:example:loa:2";
  return context;
}

// The context is validated, normalised, stored with the session and copied
// into every access token of the family, across ten rotations.
TEST_F(SessionContextTest, ContextTravelsThroughTenRotations) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  std::optional<FakeSessionStore::StoredSession> row = store_.Find(tokens->session_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->row.context, ExpectedContext());
  EXPECT_EQ(row->row.metadata, (SessionMetadata{{"device", "phone"}}));
  for (int i = 0; i <= 10; ++i) {
    absl::StatusOr<AccessClaims> claims = VerifyJwt(tokens->access_token);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(claims->context, ExpectedContext()) << "rotation " << i;
    clock_.Advance(absl::Minutes(1));
    tokens = Refresh(tokens->refresh_token);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
  }
}

// Metadata is kept with the session and listed, never put in a token.
TEST_F(SessionContextTest, MetadataIsListedButNotInTokens) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->access_token.find(Base64UrlEncode("phone")), std::string::npos);
  absl::StatusOr<AccessClaims> claims = VerifyJwt(tokens->access_token);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->context.claims.find("device"), std::string::npos);
  absl::StatusOr<SessionPage> page = service_->ListSessions("alice", 0, "", Deadline());
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->sessions.size(), 1u);
  EXPECT_EQ(page->sessions[0].metadata, (SessionMetadata{{"device", "phone"}}));
  EXPECT_EQ(page->sessions[0].context, ExpectedContext());
}

// Every bad context field is INVALID_CLAIMS naming the field, and nothing is stored.
TEST_F(SessionContextTest, BadContextFailsInvalidClaimsWithoutWriting) {
  struct Case {
    const char* field;
    std::function<void(IssueRequest&)> spoil;
  };
  const std::vector<Case> cases = {
      {"claims", [](IssueRequest& r) { r.context.claims["sub"] = "mallory"; }},
      {"claims", [](IssueRequest& r) { r.context.claims[std::string(65, 'k')] = 1; }},
      {"claims", [](IssueRequest& r) { r.context.claims["big"] = std::string(5000, 'x'); }},
      {"scope", [](IssueRequest& r) { r.context.scopes = {"has space"}; }},
      {"auth_time",
       [this](IssueRequest& r) { r.context.auth_time = clock_.Now() + absl::Hours(1); }},
      {"amr", [](IssueRequest& r) { r.context.amr = {""}; }},
      {"acr", [](IssueRequest& r) { r.context.acr = std::string(129, 'a'); }},
      {"metadata",
       [](IssueRequest& r) {
         r.metadata = {{"", "empty key"}};
       }},
  };
  for (const Case& c : cases) {
    IssueRequest request = ContextRequest();
    c.spoil(request);
    const absl::Status status = IssueWith(request).status();
    EXPECT_TRUE(HasReason(status, ErrorReason::INVALID_CLAIMS)) << c.field << ": " << status;
    EXPECT_NE(status.message().find(c.field), std::string::npos) << c.field << ": " << status;
  }
  EXPECT_EQ(store_.calls().create_session, 0);
}

// Claims that make the signed token longer than the verifier accepts are refused.
TEST_F(SessionContextTest, ClaimsOverTokenLimitFailInvalidClaims) {
  SessionOptions options = DefaultOptions();
  options.limits.max_access_token_bytes = 1024;
  Reconfigure(options);
  IssueRequest request = ContextRequest();
  request.context.claims["padding"] = std::string(900, 'p');
  const absl::Status status = IssueWith(request).status();
  EXPECT_TRUE(HasReason(status, ErrorReason::INVALID_CLAIMS)) << status;
  EXPECT_NE(status.message().find("--max-token-bytes"), std::string::npos) << status;
  EXPECT_EQ(store_.calls().create_session, 0);
}

// UpdateSession changes what the next access token carries; tokens already
// issued keep their contents.
TEST_F(SessionContextTest, UpdateAppearsInNextRefreshOnly) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  clock_.Advance(absl::Minutes(1));
  SessionChanges changes;
  changes.roles = std::vector<std::string>{"admin"};
  changes.claims = nlohmann::json::parse(R"({"tenant":"globex"})");
  changes.scopes = std::vector<std::string>{"pay"};
  changes.auth_time = clock_.Now();
  changes.amr = std::vector<std::string>{"hwk"};
  changes.acr = "urn:example:loa:3";
  changes.metadata = SessionMetadata{{"device", "laptop"}};
  absl::StatusOr<SessionView> updated = Update(tokens->session_id, changes);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(updated->context.claims, R"({"tenant":"globex"})");
  EXPECT_EQ(updated->metadata, (SessionMetadata{{"device", "laptop"}}));

  absl::StatusOr<AccessClaims> old_claims = VerifyJwt(tokens->access_token);
  ASSERT_TRUE(old_claims.ok());
  EXPECT_EQ(old_claims->context, ExpectedContext());
  absl::StatusOr<IssuedTokens> next = Refresh(tokens->refresh_token);
  ASSERT_TRUE(next.ok()) << next.status();
  absl::StatusOr<AccessClaims> claims = VerifyJwt(next->access_token);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->roles, std::vector<std::string>{"admin"});
  EXPECT_EQ(claims->context.claims, R"({"tenant":"globex"})");
  EXPECT_EQ(claims->context.scopes, std::vector<std::string>{"pay"});
  EXPECT_EQ(claims->context.auth_time, absl::FromUnixSeconds(absl::ToUnixSeconds(clock_.Now())));
  EXPECT_EQ(claims->context.amr, std::vector<std::string>{"hwk"});
  EXPECT_EQ(claims->context.acr, "urn:example:loa:3");
}

// Only the fields named change; a named field left empty is cleared.
TEST_F(SessionContextTest, UpdateTouchesOnlyMaskedFieldsAndClears) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  SessionChanges changes;
  changes.auth_time.emplace();  // In the mask, unset: cleared.
  changes.acr = "";
  absl::StatusOr<SessionView> updated = Update(tokens->session_id, changes);
  ASSERT_TRUE(updated.ok()) << updated.status();
  TokenContext expected = ExpectedContext();
  expected.auth_time.reset();
  expected.acr.clear();
  EXPECT_EQ(updated->context, expected);
  EXPECT_EQ(updated->roles, std::vector<std::string>{"reader"});
  EXPECT_EQ(updated->metadata, (SessionMetadata{{"device", "phone"}}));
}

// Each refusal has its documented reason and changes nothing.
TEST_F(SessionContextTest, UpdateRefusals) {
  absl::StatusOr<IssuedTokens> live = IssueWith(ContextRequest());
  absl::StatusOr<IssuedTokens> revoked = IssueWith(ContextRequest());
  ASSERT_TRUE(live.ok() && revoked.ok());
  ASSERT_TRUE(*service_->RevokeSession(revoked->session_id, "", Deadline()));
  SessionChanges acr;
  acr.acr = "x";
  EXPECT_TRUE(HasReason(Update(live->session_id, {}).status(), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Update("not-a-uuid", acr).status(), ErrorReason::INVALID_SESSION_ID));
  EXPECT_TRUE(
      HasReason(Update(UuidToString(NewUuidV4()), acr).status(), ErrorReason::SESSION_NOT_FOUND));
  EXPECT_TRUE(HasReason(Update(revoked->session_id, acr).status(), ErrorReason::SESSION_REVOKED));
  SessionChanges bad;
  bad.scopes = std::vector<std::string>{"bad\"scope"};
  EXPECT_TRUE(HasReason(Update(live->session_id, bad).status(), ErrorReason::INVALID_CLAIMS));

  // Too big for the verifier once merged: refused inside the store's
  // transaction, the row keeps its old values.
  SessionOptions options = DefaultOptions();
  options.limits.max_access_token_bytes = 1200;
  Reconfigure(options);
  SessionChanges big;
  big.claims = nlohmann::json{{"padding", std::string(1000, 'p')}};
  const absl::Status too_big = Update(live->session_id, big).status();
  EXPECT_TRUE(HasReason(too_big, ErrorReason::INVALID_CLAIMS)) << too_big;
  EXPECT_EQ(store_.Find(live->session_id)->row.context, ExpectedContext());

  clock_.Advance(options_.refresh_absolute_ttl + absl::Seconds(1));
  EXPECT_TRUE(
      HasReason(Update(live->session_id, acr).status(), ErrorReason::REFRESH_TOKEN_EXPIRED));
  EXPECT_EQ(store_.Find(live->session_id)->row.context.acr, "urn:example:loa:2");
}

// UpdateSession and RefreshTokens racing on one session never lose a change.
TEST_F(SessionContextTest, UpdateRacingRefreshLosesNothing) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok());
  constexpr int kRounds = 50;
  std::thread updater([&] {
    for (int i = 0; i < kRounds; ++i) {
      SessionChanges changes;
      changes.claims = nlohmann::json{{"v", i}};
      EXPECT_TRUE(Update(tokens->session_id, changes).ok());
    }
  });
  std::string refresh = tokens->refresh_token;
  for (int i = 0; i < kRounds; ++i) {
    absl::StatusOr<IssuedTokens> next = Refresh(refresh);
    ASSERT_TRUE(next.ok()) << next.status();
    refresh = next->refresh_token;
  }
  updater.join();
  std::optional<FakeSessionStore::StoredSession> row = store_.Find(tokens->session_id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->row.generation, kRounds);
  EXPECT_EQ(row->row.context.claims, absl::StrCat(R"({"v":)", kRounds - 1, "}"));
  absl::StatusOr<IssuedTokens> last = Refresh(refresh);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(VerifyJwt(last->access_token)->context.claims, row->row.context.claims);
}

// RevokeAll with an exception revokes the subject's other sessions at once
// and leaves that one working.
TEST_F(SessionContextTest, RevokeAllExceptKeepsOneSession) {
  absl::StatusOr<IssuedTokens> a1 = Issue("alice");
  absl::StatusOr<IssuedTokens> a2 = Issue("alice");
  absl::StatusOr<IssuedTokens> a3 = Issue("alice");
  absl::StatusOr<IssuedTokens> b1 = Issue("bob");
  ASSERT_TRUE(a1.ok() && a2.ok() && a3.ok() && b1.ok());
  absl::StatusOr<int64_t> revoked =
      service_->RevokeAll("alice", "other devices", Deadline(), a2->session_id);
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(*revoked, 2);
  EXPECT_TRUE(HasReason(VerifyAccess(a1->access_token).status(), ErrorReason::TOKEN_REVOKED));
  EXPECT_TRUE(HasReason(VerifyAccess(a3->access_token).status(), ErrorReason::TOKEN_REVOKED));
  EXPECT_TRUE(VerifyAccess(a2->access_token).ok());
  EXPECT_TRUE(VerifyAccess(b1->access_token).ok());
  EXPECT_TRUE(Refresh(a2->refresh_token).ok());
  EXPECT_TRUE(HasReason(Refresh(a1->refresh_token).status(), ErrorReason::SESSION_REVOKED));
  EXPECT_FALSE(store_.SubjectRevokedAt("alice").has_value());
}

// The kept session must be one of the subject's: anything else changes nothing.
TEST_F(SessionContextTest, RevokeAllExceptForeignOrUnknownSessionRefused) {
  absl::StatusOr<IssuedTokens> a1 = Issue("alice");
  absl::StatusOr<IssuedTokens> b1 = Issue("bob");
  ASSERT_TRUE(a1.ok() && b1.ok());
  for (const std::string& except :
       {b1->session_id, UuidToString(NewUuidV4()), std::string("not-a-uuid")}) {
    EXPECT_TRUE(HasReason(service_->RevokeAll("alice", "", Deadline(), except).status(),
                          ErrorReason::INVALID_SESSION_ID))
        << except;
  }
  EXPECT_TRUE(VerifyAccess(a1->access_token).ok());
  EXPECT_TRUE(Refresh(a1->refresh_token).ok());
}

// required_scopes, max_auth_age and acceptable_acr on VerifyAccess.
TEST_F(SessionContextTest, VerifyChecksScopesAndStepUp) {
  absl::StatusOr<IssuedTokens> tokens = IssueWith(ContextRequest());
  ASSERT_TRUE(tokens.ok());
  const std::string& token = tokens->access_token;
  EXPECT_TRUE(VerifyWith({.access_token = token, .required_scopes = {"read", "write"}}).ok());
  EXPECT_TRUE(HasReason(VerifyWith({.access_token = token, .required_scopes = {"pay"}}).status(),
                        ErrorReason::MISSING_SCOPE));
  // auth_time is 10 minutes (and 250 ms, truncated) old.
  EXPECT_TRUE(VerifyWith({.access_token = token, .max_auth_age = absl::Minutes(11)}).ok());
  EXPECT_TRUE(
      HasReason(VerifyWith({.access_token = token, .max_auth_age = absl::Minutes(5)}).status(),
                ErrorReason::INSUFFICIENT_USER_AUTHENTICATION));
  EXPECT_TRUE(
      VerifyWith({.access_token = token, .acceptable_acr = {"x", "urn:example:loa:2"}}).ok());
  EXPECT_TRUE(HasReason(
      VerifyWith({.access_token = token, .acceptable_acr = {"urn:example:loa:3"}}).status(),
      ErrorReason::INSUFFICIENT_USER_AUTHENTICATION));
  // Permission before step-up: a fresh login would not grant the role.
  EXPECT_TRUE(HasReason(
      VerifyWith(
          {.access_token = token, .required_roles = {"admin"}, .max_auth_age = absl::Seconds(1)})
          .status(),
      ErrorReason::MISSING_ROLE));
  // A token without auth_time fails any age requirement.
  absl::StatusOr<IssuedTokens> plain = Issue("alice");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(HasReason(
      VerifyWith({.access_token = plain->access_token, .max_auth_age = absl::Hours(24)}).status(),
      ErrorReason::INSUFFICIENT_USER_AUTHENTICATION));
  // Malformed requirements are the caller's error.
  EXPECT_TRUE(
      HasReason(VerifyWith({.access_token = token, .max_auth_age = absl::Seconds(-1)}).status(),
                ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(
      HasReason(VerifyWith({.access_token = token, .required_scopes = {"bad scope"}}).status(),
                ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(VerifyWith({.access_token = token, .acceptable_acr = {""}}).status(),
                        ErrorReason::INVALID_REQUEST));
}

}  // namespace
}  // namespace token
