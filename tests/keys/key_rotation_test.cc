#include "server/keys/key_rotation.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/keys/test_keys.h"

namespace token {
namespace {

// N: the instant most tests evaluate at, 2024-03-01T00:00:00Z.
const absl::Time N = absl::FromUnixSeconds(1709251200);
constexpr absl::Duration kNs = absl::Nanoseconds(1);
// P and R: publish period and retire-after window (15 min access ttl + 30 s skew).
constexpr absl::Duration P = absl::Hours(1);
const absl::Duration R = absl::Minutes(15) + absl::Seconds(30);
const RotationPolicy kPolicy{.publish_period = P, .retire_after = R};

class KeyRotationTest : public ::testing::Test {
 protected:
  static const RsaKeyPtr& K(int i) { return token::testing::TestKey(i); }

  static DatedKey Dated(int i, absl::Time created, std::string file = "") {
    if (file.empty()) file = "key-" + std::to_string(i) + ".pem";
    return {K(i), created, file};
  }

  static KeyRotation Eval(std::vector<DatedKey> keys, absl::Time now) {
    absl::StatusOr<KeyRotation> rotation = EvaluateKeyRotation(std::move(keys), now, kPolicy);
    EXPECT_TRUE(rotation.ok()) << rotation.status();
    return rotation.ok() ? *std::move(rotation) : KeyRotation{};
  }

  // StateOf returns the state of key `i` in `rotation`, failing if absent.
  static KeyState StateOf(const KeyRotation& rotation, int i) {
    for (const KeyStatus& status : rotation.keys) {
      if (status.kid == K(i)->kid()) return status.state;
    }
    ADD_FAILURE() << "key " << i << " not in the result";
    return KeyState::kRetired;
  }

  static std::vector<std::string> PublishedKids(const KeyRotation& rotation) {
    std::vector<std::string> kids;
    for (const RsaKeyPtr& key : rotation.key_set->published()) kids.push_back(key->kid());
    return kids;
  }

  static const std::string& Kid(int i) { return K(i)->kid(); }

 private:
};

// A lone key created just now signs at once (bootstrap): nobody can have cached anything.
TEST_F(KeyRotationTest, SingleFreshKeyBootstrapsActive) {
  const KeyRotation r = Eval({Dated(0, N)}, N);
  EXPECT_EQ(StateOf(r, 0), KeyState::kActive);
  EXPECT_EQ(r.key_set->SigningKeyAt(N).kid(), Kid(0));
  EXPECT_EQ(PublishedKids(r), std::vector<std::string>{Kid(0)});
  EXPECT_TRUE(r.key_set->handovers().empty());
  EXPECT_EQ(r.keys[0].activates_at, N + P);
  EXPECT_EQ(r.keys[0].retires_at, absl::InfiniteFuture());
}

// A lone key past its publish period is active.
TEST_F(KeyRotationTest, SingleOldKeyIsActive) {
  const KeyRotation r = Eval({Dated(0, N - absl::Hours(48))}, N);
  EXPECT_EQ(StateOf(r, 0), KeyState::kActive);
  EXPECT_EQ(r.key_set->signing_key().kid(), Kid(0));
}

// A new key is next (published, not signing) until exactly created + publish period.
TEST_F(KeyRotationTest, NewKeyIsNextUntilActivationBoundary) {
  const std::vector<DatedKey> keys = {Dated(0, N - absl::Hours(10)), Dated(1, N)};
  for (absl::Time now : {N, N + P - kNs}) {
    const KeyRotation r = Eval(keys, now);
    EXPECT_EQ(StateOf(r, 0), KeyState::kActive);
    EXPECT_EQ(StateOf(r, 1), KeyState::kNext);
    EXPECT_EQ(r.key_set->signing_key().kid(), Kid(0));
    EXPECT_EQ(r.key_set->SigningKeyAt(now).kid(), Kid(0));
    EXPECT_EQ(PublishedKids(r), (std::vector<std::string>{Kid(0), Kid(1)}));
    EXPECT_NE(r.key_set->FindByKid(Kid(1)), nullptr);  // Next keys verify.
  }
  const KeyRotation at = Eval(keys, N + P);
  EXPECT_EQ(StateOf(at, 1), KeyState::kActive);
  EXPECT_EQ(StateOf(at, 0), KeyState::kRetiring);
  EXPECT_EQ(at.key_set->signing_key().kid(), Kid(1));
}

// A snapshot taken while a key is next switches signing exactly at its activation time.
TEST_F(KeyRotationTest, HandoverSwitchesSigningAtActivationInstant) {
  const KeyRotation r = Eval({Dated(0, N - absl::Hours(10)), Dated(1, N)}, N);
  ASSERT_EQ(r.key_set->handovers().size(), 1u);
  EXPECT_EQ(r.key_set->handovers()[0].at, N + P);
  EXPECT_EQ(r.key_set->SigningKeyAt(N + P - kNs).kid(), Kid(0));
  EXPECT_EQ(r.key_set->SigningKeyAt(N + P).kid(), Kid(1));
  EXPECT_EQ(r.key_set->SigningKeyAt(N + absl::Hours(100)).kid(), Kid(1));
}

// The old key is retiring until its successor's activation + ttl + skew, then retired and dropped.
TEST_F(KeyRotationTest, OldKeyRetiresAtSuccessorActivationPlusRetireAfter) {
  const std::vector<DatedKey> keys = {Dated(0, N - absl::Hours(10)), Dated(1, N)};
  const KeyRotation retiring = Eval(keys, N + P + R - kNs);
  EXPECT_EQ(StateOf(retiring, 0), KeyState::kRetiring);
  EXPECT_EQ(retiring.keys[0].retires_at, N + P + R);
  EXPECT_EQ(PublishedKids(retiring), (std::vector<std::string>{Kid(0), Kid(1)}));
  EXPECT_NE(retiring.key_set->FindByKid(Kid(0)), nullptr);

  const KeyRotation retired = Eval(keys, N + P + R);
  EXPECT_EQ(StateOf(retired, 0), KeyState::kRetired);
  EXPECT_EQ(StateOf(retired, 1), KeyState::kActive);
  EXPECT_EQ(PublishedKids(retired), std::vector<std::string>{Kid(1)});
  EXPECT_EQ(retired.key_set->FindByKid(Kid(0)), nullptr);
  EXPECT_EQ(retired.key_set->jwks_json().find(K(0)->n()), std::string::npos);
}

// With no key past its publish period the oldest signs, and the rotation continues seamlessly.
TEST_F(KeyRotationTest, BootstrapOldestSignsNewerIsNext) {
  const std::vector<DatedKey> keys = {Dated(0, N), Dated(1, N + absl::Minutes(10))};
  for (absl::Time now :
       {N + absl::Minutes(20), N + P - kNs, N + P, N + absl::Minutes(10) + P - kNs}) {
    const KeyRotation r = Eval(keys, now);
    EXPECT_EQ(StateOf(r, 0), KeyState::kActive) << now;
    EXPECT_EQ(StateOf(r, 1), KeyState::kNext) << now;
    EXPECT_EQ(r.key_set->SigningKeyAt(now).kid(), Kid(0)) << now;
  }
  const KeyRotation later = Eval(keys, N + absl::Minutes(10) + P);
  EXPECT_EQ(StateOf(later, 1), KeyState::kActive);
  EXPECT_EQ(StateOf(later, 0), KeyState::kRetiring);
}

// Order comes from creation times, not from file names or input order.
TEST_F(KeyRotationTest, OrderFollowsCreatedTimeNotFileOrInputOrder) {
  const KeyRotation r = Eval({Dated(1, N - P - absl::Minutes(5), "a-newer.pem"),
                              Dated(0, N - absl::Hours(5), "z-older.pem")},
                             N);
  EXPECT_EQ(StateOf(r, 1), KeyState::kActive);
  EXPECT_EQ(StateOf(r, 0), KeyState::kRetiring);
  EXPECT_EQ(r.keys[0].file, "z-older.pem");
  EXPECT_EQ(PublishedKids(r), (std::vector<std::string>{Kid(0), Kid(1)}));
}

// Equal creation times are ordered by file name, so every replica agrees.
TEST_F(KeyRotationTest, CreationTiesBreakByFileName) {
  const absl::Time t = N - absl::Hours(5);
  const KeyRotation r = Eval({Dated(0, t, "key-b.pem"), Dated(1, t, "key-a.pem")}, N);
  EXPECT_EQ(StateOf(r, 0), KeyState::kActive);
  EXPECT_EQ(StateOf(r, 1), KeyState::kRetired);  // Its successor activated long ago.
}

// Five keys at once: one retired, one retiring, one active, two next with ordered handovers.
TEST_F(KeyRotationTest, SeveralKeysEachInTheirState) {
  const KeyRotation r = Eval({Dated(3, N - absl::Minutes(10)), Dated(0, N - absl::Hours(30)),
                              Dated(4, N - absl::Minutes(1)), Dated(1, N - absl::Hours(5)),
                              Dated(2, N - P - absl::Minutes(5))},
                             N);
  EXPECT_EQ(StateOf(r, 0), KeyState::kRetired);
  EXPECT_EQ(StateOf(r, 1), KeyState::kRetiring);
  EXPECT_EQ(StateOf(r, 2), KeyState::kActive);
  EXPECT_EQ(StateOf(r, 3), KeyState::kNext);
  EXPECT_EQ(StateOf(r, 4), KeyState::kNext);
  EXPECT_EQ(PublishedKids(r), (std::vector<std::string>{Kid(1), Kid(2), Kid(3), Kid(4)}));
  ASSERT_EQ(r.key_set->handovers().size(), 2u);
  EXPECT_EQ(r.key_set->SigningKeyAt(N + absl::Minutes(50) - kNs).kid(), Kid(2));
  EXPECT_EQ(r.key_set->SigningKeyAt(N + absl::Minutes(50)).kid(), Kid(3));
  EXPECT_EQ(r.key_set->SigningKeyAt(N + absl::Minutes(59)).kid(), Kid(4));
  ASSERT_EQ(r.keys.size(), 5u);
  EXPECT_EQ(r.keys[1].retires_at, N - absl::Minutes(5) + R);  // Key 2 activated 5 min ago.
}

// Deleting the active key makes the newest remaining activated key sign again (rollback).
TEST_F(KeyRotationTest, RemovingActiveKeyReactivatesPrevious) {
  const absl::Time now = N + P + absl::Minutes(1);
  const KeyRotation both = Eval({Dated(0, N - absl::Hours(10)), Dated(1, N)}, now);
  EXPECT_EQ(StateOf(both, 1), KeyState::kActive);
  EXPECT_EQ(StateOf(both, 0), KeyState::kRetiring);
  const KeyRotation rolled_back = Eval({Dated(0, N - absl::Hours(10))}, now);
  EXPECT_EQ(StateOf(rolled_back, 0), KeyState::kActive);
  EXPECT_EQ(rolled_back.key_set->SigningKeyAt(now).kid(), Kid(0));
}

// The same key in two files counts once, with the older file's time.
TEST_F(KeyRotationTest, SameKeyInTwoFilesCountsOnce) {
  const KeyRotation r = Eval({Dated(0, N - absl::Hours(3), "old.pem"), Dated(0, N, "copy.pem"),
                              Dated(1, N - P - absl::Minutes(5))},
                             N);
  ASSERT_EQ(r.keys.size(), 2u);
  EXPECT_EQ(r.keys[0].file, "old.pem");
  EXPECT_EQ(StateOf(r, 1), KeyState::kActive);
  EXPECT_EQ(r.key_set->published().size(), 2u);
}

// The JWKS and its ETag stay the same while the published set does and change when it changes.
TEST_F(KeyRotationTest, EtagChangesOnlyWithPublishedSet) {
  const std::vector<DatedKey> keys = {Dated(0, N - absl::Hours(10)), Dated(1, N)};
  const KeyRotation next = Eval(keys, N);
  const KeyRotation active = Eval(keys, N + P);  // Same keys published, other roles.
  const KeyRotation retired = Eval(keys, N + P + R);
  EXPECT_EQ(next.key_set->jwks_json(), active.key_set->jwks_json());
  EXPECT_EQ(next.key_set->jwks_etag(), active.key_set->jwks_etag());
  EXPECT_NE(active.key_set->jwks_etag(), retired.key_set->jwks_etag());
  const KeyRotation before = Eval({Dated(0, N - absl::Hours(10))}, N);
  EXPECT_NE(before.key_set->jwks_etag(), next.key_set->jwks_etag());
}

// No key, a null key, an infinite time or a negative duration is refused.
TEST_F(KeyRotationTest, BadInputFails) {
  EXPECT_EQ(EvaluateKeyRotation({}, N, kPolicy).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(EvaluateKeyRotation({{nullptr, N, "x.pem"}}, N, kPolicy).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluateKeyRotation({Dated(0, absl::InfiniteFuture())}, N, kPolicy).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluateKeyRotation({Dated(0, N)}, N, {.publish_period = -P, .retire_after = R})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluateKeyRotation({Dated(0, N)}, N,
                                {.publish_period = P, .retire_after = absl::InfiniteDuration()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// State names are the lower-case words used in logs, metrics and docs.
TEST(KeyStateNameTest, NamesAreStable) {
  EXPECT_EQ(KeyStateName(KeyState::kNext), "next");
  EXPECT_EQ(KeyStateName(KeyState::kActive), "active");
  EXPECT_EQ(KeyStateName(KeyState::kRetiring), "retiring");
  EXPECT_EQ(KeyStateName(KeyState::kRetired), "retired");
}

// The JWKS may be cached for half the publish period, in whole seconds.
TEST(JwksMaxAgeTest, IsHalfThePublishPeriodInWholeSeconds) {
  EXPECT_EQ(JwksMaxAge(absl::Hours(1)), absl::Minutes(30));
  EXPECT_EQ(JwksMaxAge(absl::Seconds(10)), absl::Seconds(5));
  EXPECT_EQ(JwksMaxAge(absl::Seconds(3)), absl::Seconds(1));
  EXPECT_EQ(JwksMaxAge(absl::Seconds(1)), absl::ZeroDuration());
}

}  // namespace
}  // namespace token
