#include "server/session/access_verifier.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"
#include "server/jwt/claims.h"
#include "server/jwt/signer.h"
#include "server/keys/key_provider.h"
#include "server/keys/key_set.h"
#include "server/keys/rsa_key.h"
#include "server/session/revocation_set.h"
#include "tests/common/fake_clock.h"
#include "tests/common/status_matchers.h"

namespace token {
namespace {

using test::HasReason;

// 2023-11-14T22:13:20Z.
const absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr char kIssuer[] = "token-service";
constexpr char kDefaultAudience[] = "api";
constexpr char kSessionId[] = "0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1";

// GeneratedKey returns the `index`-th 2048-bit key, generated once per process (slow).
const RsaKeyPtr& GeneratedKey(int index) {
  static RsaKeyPtr keys[2];
  if (keys[index] == nullptr) {
    absl::StatusOr<RsaKeyPtr> key = RsaKey::Generate(2048);
    if (!key.ok()) std::abort();
    keys[index] = *key;
  }
  return keys[index];
}

KeySetPtr KeysOf(const RsaKeyPtr& signing, std::vector<RsaKeyPtr> published = {}) {
  absl::StatusOr<KeySetPtr> set = KeySet::Create(signing, std::move(published));
  if (!set.ok()) std::abort();
  return *set;
}

// Claims are valid at kNow: issued 1 minute earlier, lifetime 15 minutes.
AccessClaims Claims() {
  AccessClaims claims;
  claims.issuer = kIssuer;
  claims.subject = "alice";
  claims.audience = kDefaultAudience;
  claims.session_id = kSessionId;
  claims.token_id = "4d1c0ab0-6a4e-4f67-8b1e-0d5b8f0e9d11";
  claims.roles = {"reader", "writer"};
  claims.issued_at = kNow - absl::Minutes(1);
  claims.not_before = claims.issued_at;
  claims.expires_at = claims.issued_at + absl::Minutes(15);
  return claims;
}

std::string Sign(const AccessClaims& claims, const RsaKey& key = *GeneratedKey(0)) {
  absl::StatusOr<std::string> token = SignAccessToken(claims, key);
  if (!token.ok()) std::abort();
  return *token;
}

class AccessVerifierTest : public ::testing::Test {
 protected:
  AccessVerifierTest()
      : clock_(kNow),
        keys_(KeysOf(GeneratedKey(0))),
        revocations_(absl::Minutes(15) + absl::Seconds(30)),
        verifier_(Options(), keys_, revocations_, clock_) {
    revocations_.ReplaceAll({});
  }

  static AccessVerifierOptions Options() {
    AccessVerifierOptions options;
    options.issuer = kIssuer;
    options.default_audience = kDefaultAudience;
    options.clock_skew = absl::Seconds(30);
    return options;
  }

  absl::StatusOr<AccessClaims> Verify(const std::string& token, const std::string& audience = "",
                                      std::vector<std::string> required_roles = {}) const {
    return verifier_.Verify({token, audience, std::move(required_roles)});
  }

  FakeClock clock_;
  KeyProvider keys_;
  RevocationSet revocations_;
  AccessVerifier verifier_;
};

// A valid token yields exactly its claims.
TEST_F(AccessVerifierTest, ValidTokenReturnsClaims) {
  absl::StatusOr<AccessClaims> claims = Verify(Sign(Claims()));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, Claims());
}

// Every single-character change and every truncation of a valid token fails.
TEST_F(AccessVerifierTest, TamperedOrTruncatedTokenFails) {
  const std::string token = Sign(Claims());
  ASSERT_TRUE(Verify(token).ok());
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    absl::StatusOr<AccessClaims> result = Verify(tampered);
    ASSERT_FALSE(result.ok()) << "substitution at " << i;
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << i;
  }
  for (size_t length = 0; length < token.size(); ++length) {
    EXPECT_FALSE(Verify(token.substr(0, length)).ok()) << "truncated to " << length;
  }
}

// JWT failures come through with their own reasons.
TEST_F(AccessVerifierTest, JwtFailuresKeepTheirReasons) {
  EXPECT_TRUE(HasReason(Verify(""), ErrorReason::TOKEN_MALFORMED));
  EXPECT_TRUE(HasReason(Verify("a.b.c"), ErrorReason::TOKEN_MALFORMED));
  EXPECT_TRUE(
      HasReason(Verify(Sign(Claims(), *GeneratedKey(1))), ErrorReason::TOKEN_SIGNATURE_INVALID));
  AccessClaims other_issuer = Claims();
  other_issuer.issuer = "someone-else";
  EXPECT_TRUE(HasReason(Verify(Sign(other_issuer)), ErrorReason::TOKEN_ISSUER_MISMATCH));
  AccessClaims future = Claims();
  future.not_before = kNow + absl::Minutes(5);
  EXPECT_TRUE(HasReason(Verify(Sign(future)), ErrorReason::TOKEN_NOT_YET_VALID));
}

// Expiry honours the configured clock-skew leeway.
TEST_F(AccessVerifierTest, ExpiredBeyondSkewFailsTokenExpired) {
  const std::string token = Sign(Claims());
  clock_.Set(Claims().expires_at + absl::Seconds(29));
  EXPECT_TRUE(Verify(token).ok());
  clock_.Set(Claims().expires_at + absl::Seconds(30));
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_EXPIRED));
}

// Old tokens verify while their key is published, and fail once it is dropped.
TEST_F(AccessVerifierTest, KeyRotationFollowsPublishedKeys) {
  const std::string old_token = Sign(Claims(), *GeneratedKey(0));
  keys_.Replace(KeysOf(GeneratedKey(1), {GeneratedKey(0), GeneratedKey(1)}));
  EXPECT_TRUE(Verify(old_token).ok());
  EXPECT_TRUE(Verify(Sign(Claims(), *GeneratedKey(1))).ok());
  keys_.Replace(KeysOf(GeneratedKey(1)));
  EXPECT_TRUE(HasReason(Verify(old_token), ErrorReason::TOKEN_SIGNATURE_INVALID));
}

// Out of sync (no snapshot yet, or feed lost): UNAVAILABLE / SERVICE_NOT_READY.
TEST_F(AccessVerifierTest, NotInSyncFailsServiceNotReady) {
  RevocationSet fresh(absl::Minutes(16));
  AccessVerifier verifier(Options(), keys_, fresh, clock_);
  const std::string token = Sign(Claims());
  EXPECT_TRUE(HasReason(verifier.Verify({token, "", {}}), ErrorReason::SERVICE_NOT_READY));

  ASSERT_TRUE(Verify(token).ok());
  revocations_.MarkOutOfSync();
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::SERVICE_NOT_READY));
  revocations_.ReplaceAll({});
  EXPECT_TRUE(Verify(token).ok());
}

// A token of a revoked session is TOKEN_REVOKED.
TEST_F(AccessVerifierTest, RevokedSessionFailsTokenRevoked) {
  const std::string token = Sign(Claims());
  revocations_.AddSession(kSessionId, kNow);
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_REVOKED));
  AccessClaims other_session = Claims();
  other_session.session_id = "11111111-2222-4333-8444-555555555555";
  EXPECT_TRUE(Verify(Sign(other_session)).ok());
}

// A subject revoked after the token's iat makes it TOKEN_REVOKED.
TEST_F(AccessVerifierTest, SubjectRevokedAfterIatFailsTokenRevoked) {
  const AccessClaims claims = Claims();
  revocations_.AddSubject("alice", claims.issued_at + absl::Seconds(10));
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_REVOKED));
  AccessClaims bob = Claims();
  bob.subject = "bob";
  EXPECT_TRUE(Verify(Sign(bob)).ok());
}

// A subject revocation before the token's iat does not affect it.
TEST_F(AccessVerifierTest, SubjectRevokedBeforeIatSucceeds) {
  const AccessClaims claims = Claims();
  revocations_.AddSubject("alice", claims.issued_at - absl::Seconds(1));
  absl::StatusOr<AccessClaims> result = Verify(Sign(claims));
  EXPECT_TRUE(result.ok()) << result.status();
}

// A token lacking a required role is PERMISSION_DENIED / MISSING_ROLE.
TEST_F(AccessVerifierTest, RequiredRoleMissingFailsMissingRole) {
  const std::string token = Sign(Claims());
  EXPECT_TRUE(Verify(token, "", {"reader"}).ok());
  EXPECT_TRUE(Verify(token, "", {"writer", "reader", "reader"}).ok());
  EXPECT_TRUE(HasReason(Verify(token, "", {"admin"}), ErrorReason::MISSING_ROLE));
  EXPECT_TRUE(HasReason(Verify(token, "", {"reader", "admin"}), ErrorReason::MISSING_ROLE));
  EXPECT_TRUE(HasReason(Verify(token, "", {"Reader"}), ErrorReason::MISSING_ROLE));
  AccessClaims no_roles = Claims();
  no_roles.roles.clear();
  EXPECT_TRUE(HasReason(Verify(Sign(no_roles), "", {"reader"}), ErrorReason::MISSING_ROLE));
  EXPECT_TRUE(Verify(Sign(no_roles)).ok());
}

// No request audience means the default; an explicit one must match aud.
TEST_F(AccessVerifierTest, RequestAudienceMismatchFailsAudienceMismatch) {
  const std::string api_token = Sign(Claims());
  AccessClaims billing = Claims();
  billing.audience = "billing";
  const std::string billing_token = Sign(billing);

  EXPECT_TRUE(Verify(api_token, "").ok());
  EXPECT_TRUE(Verify(api_token, kDefaultAudience).ok());
  EXPECT_TRUE(HasReason(Verify(api_token, "billing"), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
  EXPECT_TRUE(HasReason(Verify(billing_token, ""), ErrorReason::TOKEN_AUDIENCE_MISMATCH));
  absl::StatusOr<AccessClaims> claims = Verify(billing_token, "billing");
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->audience, "billing");
}

// A malformed audience or required role in the request is INVALID_REQUEST.
TEST_F(AccessVerifierTest, MalformedRequestFieldsFailInvalidRequest) {
  const std::string token = Sign(Claims());
  EXPECT_TRUE(HasReason(Verify(token, "api\n"), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Verify(token, std::string("a\0i", 3)), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Verify(token, std::string(256, 'a')), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Verify(token, "\xC0\xAF"), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Verify(token, "", {""}), ErrorReason::INVALID_REQUEST));
  EXPECT_TRUE(HasReason(Verify(token, "", {std::string(129, 'r')}), ErrorReason::INVALID_REQUEST));
  std::vector<std::string> too_many(65, "reader");
  EXPECT_TRUE(HasReason(Verify(token, "", too_many), ErrorReason::INVALID_REQUEST));
}

// A token living longer than the access TTL (default 15 minutes, as the
// server's) is refused TOKEN_EXPIRED while exp is still ahead: the revocation
// set keeps entries for only TTL + skew, too short to revoke it.
TEST_F(AccessVerifierTest, LifetimeBeyondAccessTtlFailsTokenExpired) {
  AccessClaims claims = Claims();
  claims.expires_at = claims.issued_at + absl::Minutes(15);
  EXPECT_TRUE(Verify(Sign(claims)).ok());
  // The clock skew (30 s) is the only leeway on the lifetime.
  claims.expires_at = claims.issued_at + absl::Minutes(15) + absl::Seconds(30);
  EXPECT_TRUE(Verify(Sign(claims)).ok());
  claims.expires_at = claims.issued_at + absl::Minutes(15) + absl::Seconds(30) + absl::Seconds(1);
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_EXPIRED));
  claims.expires_at = claims.issued_at + absl::Hours(2);
  EXPECT_TRUE(HasReason(Verify(Sign(claims)), ErrorReason::TOKEN_EXPIRED));
}

// The TTL is the configured one: a longer TTL accepts that lifetime, no more.
TEST_F(AccessVerifierTest, LifetimeFollowsConfiguredAccessTtl) {
  AccessClaims claims = Claims();
  AccessVerifierOptions options = Options();
  options.access_ttl = absl::Minutes(60);
  AccessVerifier longer(options, keys_, revocations_, clock_);
  claims.expires_at = claims.issued_at + absl::Minutes(60) + options.clock_skew;
  EXPECT_TRUE(longer.Verify({Sign(claims), "", {}}).ok());
  claims.expires_at += absl::Seconds(1);
  EXPECT_TRUE(HasReason(longer.Verify({Sign(claims), "", {}}), ErrorReason::TOKEN_EXPIRED));
}

// The token size cap is limits.max_access_token_bytes (--max-token-bytes),
// also above the 8192-byte default: a token of exactly the cap verifies, one
// byte over is TOKEN_MALFORMED.
TEST_F(AccessVerifierTest, ConfiguredTokenSizeLimitApplies) {
  AccessClaims claims = Claims();
  claims.roles.push_back(std::string(9000, 'r'));
  const std::string token = Sign(claims);
  ASSERT_GT(token.size(), size_t{8192});
  EXPECT_TRUE(HasReason(Verify(token), ErrorReason::TOKEN_MALFORMED));

  AccessVerifierOptions options = Options();
  options.limits.max_access_token_bytes = token.size();
  AccessVerifier at_limit(options, keys_, revocations_, clock_);
  absl::StatusOr<AccessClaims> verified = at_limit.Verify({token, "", {}});
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, claims);

  options.limits.max_access_token_bytes = token.size() - 1;
  AccessVerifier below(options, keys_, revocations_, clock_);
  EXPECT_TRUE(HasReason(below.Verify({token, "", {}}), ErrorReason::TOKEN_MALFORMED));
}

}  // namespace
}  // namespace token
