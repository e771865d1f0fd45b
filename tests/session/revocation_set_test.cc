#include "server/session/revocation_set.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/common/fake_clock.h"

namespace token {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Duration kRetention = absl::Minutes(15) + absl::Seconds(30);

// A revoked session is revoked whatever the token's iat.
TEST(RevocationSetTest, SessionRevokedIsRevoked) {
  RevocationSet set(kRetention);
  EXPECT_FALSE(set.IsRevoked("sid-1", "alice", kT0));
  set.AddSession("sid-1", kT0);
  EXPECT_TRUE(set.IsRevoked("sid-1", "alice", kT0 - absl::Hours(1)));
  EXPECT_TRUE(set.IsRevoked("sid-1", "alice", kT0 + absl::Hours(1)));
  EXPECT_FALSE(set.IsRevoked("sid-2", "alice", kT0));
  EXPECT_EQ(set.size(), 1u);
}

// A subject revocation affects tokens issued at or before it, not after.
TEST(RevocationSetTest, SubjectRevokedAffectsOnlyEarlierIat) {
  RevocationSet set(kRetention);
  set.AddSubject("alice", kT0);
  EXPECT_TRUE(set.IsRevoked("sid-1", "alice", kT0 - absl::Seconds(1)));
  EXPECT_TRUE(set.IsRevoked("sid-1", "alice", kT0));  // Same second: revoked.
  EXPECT_FALSE(set.IsRevoked("sid-1", "alice", kT0 + absl::Seconds(1)));
  EXPECT_FALSE(set.IsRevoked("sid-1", "bob", kT0 - absl::Seconds(1)));
}

// Adding a subject twice keeps the later revocation time.
TEST(RevocationSetTest, SubjectAddedTwiceKeepsLatest) {
  RevocationSet set(kRetention);
  set.AddSubject("alice", kT0 + absl::Minutes(5));
  set.AddSubject("alice", kT0);
  EXPECT_TRUE(set.IsRevoked("sid", "alice", kT0 + absl::Minutes(4)));
  EXPECT_EQ(set.size(), 1u);
}

// Prune drops only entries revoked longer ago than the retention.
TEST(RevocationSetTest, PruneDropsOnlyEntriesOlderThanRetention) {
  RevocationSet set(kRetention);
  set.AddSession("old-session", kT0);
  set.AddSession("edge-session", kT0 + absl::Minutes(1));
  set.AddSession("new-session", kT0 + absl::Minutes(10));
  set.AddSubject("old-subject", kT0);
  set.AddSubject("new-subject", kT0 + absl::Minutes(10));
  // Horizon is exactly edge-session's time: it is not older, so it stays.
  set.Prune(kT0 + absl::Minutes(1) + kRetention);
  EXPECT_FALSE(set.IsRevoked("old-session", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("edge-session", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("new-session", "x", kT0));
  EXPECT_FALSE(set.IsRevoked("s", "old-subject", kT0 - absl::Seconds(1)));
  EXPECT_TRUE(set.IsRevoked("s", "new-subject", kT0));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(set.retention(), kRetention);
}

// Prune before anything is old enough drops nothing.
TEST(RevocationSetTest, PruneWithinRetentionKeepsAll) {
  RevocationSet set(kRetention);
  set.AddSession("s1", kT0);
  set.AddSubject("alice", kT0);
  set.Prune(kT0 + kRetention);
  EXPECT_EQ(set.size(), 2u);
}

// A new set is out of sync until its first snapshot.
TEST(RevocationSetTest, NewSetIsOutOfSync) {
  RevocationSet set(kRetention);
  EXPECT_FALSE(set.InSync(kT0));
  set.AddSession("s1", kT0);  // Feed entries alone do not make it in sync.
  EXPECT_FALSE(set.InSync(kT0));
}

// ReplaceAll installs the snapshot and marks the set in sync.
TEST(RevocationSetTest, ReplaceAllInstallsSnapshotAndSetsInSync) {
  RevocationSet set(kRetention);
  RevocationSnapshot snapshot;
  snapshot.sessions = {{"s1", kT0}, {"s2", kT0 + absl::Seconds(1)}};
  snapshot.subjects = {{"alice", kT0}};
  set.ReplaceAll(snapshot);
  EXPECT_TRUE(set.InSync(kT0));
  EXPECT_TRUE(set.IsRevoked("s1", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("s2", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("s9", "alice", kT0));
  EXPECT_EQ(set.size(), 3u);
}

// ReplaceAll keeps local entries and their newer times over the snapshot.
TEST(RevocationSetTest, ReplaceAllKeepsNewerLocalEntries) {
  RevocationSet set(kRetention);
  set.AddSession("local-session", kT0 + absl::Minutes(2));
  set.AddSubject("alice", kT0 + absl::Minutes(2));
  RevocationSnapshot snapshot;
  snapshot.sessions = {{"s1", kT0}};
  snapshot.subjects = {{"alice", kT0}, {"bob", kT0}};
  set.ReplaceAll(snapshot);
  EXPECT_TRUE(set.IsRevoked("local-session", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("s1", "x", kT0));
  EXPECT_TRUE(set.IsRevoked("s", "alice", kT0 + absl::Minutes(1)));  // Local time kept.
  EXPECT_TRUE(set.IsRevoked("s", "bob", kT0));
  EXPECT_FALSE(set.IsRevoked("s", "bob", kT0 + absl::Seconds(1)));
}

// A snapshot's newer subject time beats an older local one.
TEST(RevocationSetTest, ReplaceAllNewerSnapshotTimeWins) {
  RevocationSet set(kRetention);
  set.AddSubject("alice", kT0);
  RevocationSnapshot snapshot;
  snapshot.subjects = {{"alice", kT0 + absl::Minutes(3)}};
  set.ReplaceAll(snapshot);
  EXPECT_TRUE(set.IsRevoked("s", "alice", kT0 + absl::Minutes(2)));
}

// MarkOutOfSync clears InSync but keeps entries; a later snapshot restores it.
TEST(RevocationSetTest, MarkOutOfSyncClearsInSyncUntilNextSnapshot) {
  RevocationSet set(kRetention);
  set.ReplaceAll({});
  ASSERT_TRUE(set.InSync(kT0));
  set.AddSession("s1", kT0);
  set.MarkOutOfSync();
  EXPECT_FALSE(set.InSync(kT0));
  EXPECT_TRUE(set.IsRevoked("s1", "x", kT0));
  set.ReplaceAll({});
  EXPECT_TRUE(set.InSync(kT0));
  EXPECT_TRUE(set.IsRevoked("s1", "x", kT0));
}

// A set fed by the database feed counts as in sync only while the feed's
// last proof of freshness is at most the bound old: a feed stalled without
// noticing (stopped backend) makes callers fail closed within the bound.
TEST(RevocationSetTest, BoundedSetNeedsRecentProofOfFreshness) {
  FakeClock clock(kT0);
  RevocationSet set(kRetention, kRevocationFeedMaxStaleness);
  set.ReplaceAll({});
  EXPECT_FALSE(set.InSync(clock.Now()));  // Synchronised, never proven fresh.
  set.MarkFresh(clock.Now());
  EXPECT_TRUE(set.InSync(clock.Now()));
  clock.Advance(kRevocationFeedMaxStaleness);
  EXPECT_TRUE(set.InSync(clock.Now()));
  clock.Advance(absl::Microseconds(1));
  EXPECT_FALSE(set.InSync(clock.Now()));
  set.MarkFresh(clock.Now() - absl::Seconds(1));
  EXPECT_TRUE(set.InSync(clock.Now()));
  // An older proof (delivered late) does not move freshness backwards.
  set.MarkFresh(kT0);
  EXPECT_TRUE(set.InSync(clock.Now()));
  clock.Advance(kRevocationFeedMaxStaleness);
  EXPECT_FALSE(set.InSync(clock.Now()));
}

// Freshness alone, without a snapshot since the last loss, is not in sync;
// and a loss forgets the last proof, so a resync needs a new one.
TEST(RevocationSetTest, BoundedSetNeedsSnapshotAndNewProofAfterLoss) {
  FakeClock clock(kT0);
  RevocationSet set(kRetention, kRevocationFeedMaxStaleness);
  set.MarkFresh(clock.Now());
  EXPECT_FALSE(set.InSync(clock.Now()));
  set.ReplaceAll({});
  EXPECT_TRUE(set.InSync(clock.Now()));
  set.MarkOutOfSync();
  EXPECT_FALSE(set.InSync(clock.Now()));
  set.ReplaceAll({});
  EXPECT_FALSE(set.InSync(clock.Now()));
  set.MarkFresh(clock.Now());
  EXPECT_TRUE(set.InSync(clock.Now()));
}

// The default (no feed) bound is unlimited: a snapshot is enough.
TEST(RevocationSetTest, UnboundedSetNeedsOnlySnapshot) {
  RevocationSet set(kRetention);
  set.ReplaceAll({});
  EXPECT_TRUE(set.InSync(kT0 + absl::Hours(24 * 365)));
}

}  // namespace
}  // namespace token
