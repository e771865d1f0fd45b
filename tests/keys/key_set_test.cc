#include "server/keys/key_set.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/keys/test_keys.h"

namespace token {
namespace {

class KeySetTest : public ::testing::Test {
 protected:
  static const RsaKeyPtr& old_key() { return token::testing::TestKey(0); }
  static const RsaKeyPtr& new_key() { return token::testing::TestKey(1); }

 private:
};

// The signing key is found by kid and published, old keys stay findable.
TEST_F(KeySetTest, CreateWithTwoKeysFindsBoth) {
  auto set = KeySet::Create(new_key(), {old_key(), new_key()});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(&(*set)->signing_key(), new_key().get());
  EXPECT_EQ((*set)->FindByKid(old_key()->kid()), old_key().get());
  EXPECT_EQ((*set)->FindByKid(new_key()->kid()), new_key().get());
  ASSERT_EQ((*set)->published().size(), 2u);
  EXPECT_EQ((*set)->published()[0], old_key());
}

// A signing key missing from the published list is added to it.
TEST_F(KeySetTest, SigningKeyMissingFromPublishedIsAdded) {
  auto set = KeySet::Create(new_key(), {old_key()});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ((*set)->published().size(), 2u);
  EXPECT_NE((*set)->FindByKid(new_key()->kid()), nullptr);
  auto alone = KeySet::Create(new_key(), {});
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ((*alone)->published().size(), 1u);
}

// The same key listed twice is published once.
TEST_F(KeySetTest, DuplicateKeysArePublishedOnce) {
  auto set = KeySet::Create(new_key(), {new_key(), old_key(), new_key(), old_key()});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->published().size(), 2u);
}

// Unknown, empty and prefix kids are not found.
TEST_F(KeySetTest, FindUnknownKidReturnsNull) {
  auto set = KeySet::Create(new_key(), {old_key()});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)->FindByKid("unknown"), nullptr);
  EXPECT_EQ((*set)->FindByKid(""), nullptr);
  EXPECT_EQ((*set)->FindByKid(new_key()->kid().substr(0, 8)), nullptr);
}

// A null signing or published key is rejected.
TEST_F(KeySetTest, CreateWithNullKeyFails) {
  EXPECT_EQ(KeySet::Create(nullptr, {old_key()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeySet::Create(new_key(), {nullptr}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The JWKS is an RFC 7517 set of every published key's public JWK, in order.
TEST_F(KeySetTest, JwksListsPublicJwksInOrder) {
  auto set = KeySet::Create(new_key(), {old_key(), new_key()});
  ASSERT_TRUE(set.ok());
  const nlohmann::json jwks = nlohmann::json::parse((*set)->jwks_json(), nullptr, false);
  ASSERT_TRUE(jwks.is_object());
  ASSERT_EQ(jwks.size(), 1u);
  ASSERT_TRUE(jwks["keys"].is_array());
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0], old_key()->PublicJwk());
  EXPECT_EQ(jwks["keys"][1], new_key()->PublicJwk());
  for (const nlohmann::json& jwk : jwks["keys"]) {
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi"}) {
      EXPECT_FALSE(jwk.contains(member)) << member;
    }
  }
}

// The ETag is a quoted 22-character base64url hash: equal for equal sets, different otherwise.
TEST_F(KeySetTest, EtagIsStableQuotedHashOfJwks) {
  auto a = KeySet::Create(new_key(), {old_key(), new_key()});
  auto b = KeySet::Create(new_key(), {old_key(), new_key()});
  auto c = KeySet::Create(new_key(), {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  const std::string& etag = (*a)->jwks_etag();
  ASSERT_EQ(etag.size(), 24u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_EQ(etag, (*b)->jwks_etag());
  EXPECT_NE(etag, (*c)->jwks_etag());
}

// A handover makes its key sign from its time on; handover keys are published; times sort.
TEST_F(KeySetTest, HandoverSwitchesSigningKeyAtItsTime) {
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  auto set =
      KeySet::Create(old_key(), {old_key()}, {{old_key(), t + absl::Hours(2)}, {new_key(), t}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->handovers().front().at, t);
  EXPECT_EQ((*set)->published().size(), 2u);
  EXPECT_EQ(&(*set)->SigningKeyAt(t - absl::Nanoseconds(1)), old_key().get());
  EXPECT_EQ(&(*set)->SigningKeyAt(t), new_key().get());
  EXPECT_EQ(&(*set)->SigningKeyAt(t + absl::Hours(2)), old_key().get());
  EXPECT_EQ(&(*set)->signing_key(), old_key().get());
}

// A handover without a key or with an infinite time is rejected.
TEST_F(KeySetTest, BadHandoverFails) {
  EXPECT_EQ(KeySet::Create(old_key(), {}, {{nullptr, absl::UnixEpoch()}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KeySet::Create(old_key(), {}, {{new_key(), absl::InfiniteFuture()}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A verification-only set publishes every key; an empty one is rejected.
TEST_F(KeySetTest, CreateForVerificationPublishesAll) {
  auto set = KeySet::CreateForVerification({old_key(), new_key()});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->published().size(), 2u);
  EXPECT_NE((*set)->FindByKid(new_key()->kid()), nullptr);
  EXPECT_EQ(KeySet::CreateForVerification({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace token
