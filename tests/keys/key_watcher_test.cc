#include "server/keys/key_watcher.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/log.h"
#include "server/keys/key_directory.h"
#include "tests/common/fake_clock.h"
#include "tests/harness/poll.h"

namespace token {
namespace {

// T: 2024-03-01T00:00:00Z, the fake clock's start.
const absl::Time T = absl::FromUnixSeconds(1709251200);
constexpr absl::Duration P = absl::Hours(1);
const absl::Duration R = absl::Minutes(15) + absl::Seconds(30);
constexpr absl::Duration kPoll = absl::Seconds(2);
constexpr char kGarbagePem[] =
    "-----BEGIN PRIVATE KEY-----\nU2VjcmV0R2FyYmFnZQ==\n-----END PRIVATE KEY-----\n";

class KeyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "watcher-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    SetLogSinkForTest([this](const std::string& line) {
      absl::MutexLock lock(&log_mu_);
      log_.push_back(line);
    });
  }
  void TearDown() override {
    SetLogSinkForTest(nullptr);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<KeyWatcher> MakeWatcher(const std::string& dir = "") {
    auto watcher = KeyWatcher::Create(
        {.dir = dir.empty() ? dir_ : dir, .policy = {.publish_period = P, .retire_after = R}},
        clock_);
    EXPECT_TRUE(watcher.ok()) << watcher.status();
    return watcher.ok() ? *std::move(watcher) : nullptr;
  }

  // NewKey writes a fresh key created at `created` into `dir` and returns its kid.
  std::string NewKey(absl::Time created, const std::string& dir = "") {
    auto key = RsaKey::Generate(2048);
    EXPECT_TRUE(key.ok());
    auto path = WriteKeyFile(dir.empty() ? dir_ : dir, **key, created);
    EXPECT_TRUE(path.ok()) << path.status();
    return (*key)->kid();
  }

  void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  static std::vector<std::string> PublishedKids(const KeyWatcher& watcher) {
    std::vector<std::string> kids;
    for (const RsaKeyPtr& key : watcher.provider().Current()->published()) {
      kids.push_back(key->kid());
    }
    return kids;
  }

  static KeyState StateOf(const KeyWatcher& watcher, const std::string& kid) {
    for (const KeyStatus& status : watcher.statuses()) {
      if (status.kid == kid) return status.state;
    }
    ADD_FAILURE() << "kid not loaded";
    return KeyState::kRetired;
  }

  std::string SigningKid(const KeyWatcher& watcher) {
    return watcher.provider().Current()->SigningKeyAt(clock_.Now()).kid();
  }

  // AdvanceAndTick moves the fake clock past a poll interval and ticks.
  void AdvanceAndTick(KeyWatcher& watcher, absl::Duration d = kPoll) {
    clock_.Advance(d);
    watcher.Tick();
  }

  std::vector<std::string> LogLines() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  int CountLogLines(absl::string_view needle) {
    int count = 0;
    for (const std::string& line : LogLines()) count += absl::StrContains(line, needle) ? 1 : 0;
    return count;
  }

  FakeClock clock_{T};
  std::string dir_;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

// The first load evaluates states at once: an old key is active and signs.
TEST_F(KeyWatcherTest, CreateLoadsActiveKey) {
  const std::string kid = NewKey(T - absl::Hours(5));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  EXPECT_EQ(SigningKid(*watcher), kid);
  EXPECT_EQ(StateOf(*watcher, kid), KeyState::kActive);
  EXPECT_EQ(watcher->stats().loads, 1);
}

// A broken file at start-up fails Create: the server must not start on a half-valid directory.
TEST_F(KeyWatcherTest, CreateWithBrokenFileFails) {
  NewKey(T - absl::Hours(5));
  WriteFile(dir_ + "/broken.pem", kGarbagePem);
  auto watcher = KeyWatcher::Create({.dir = dir_, .policy = {.publish_period = P}}, clock_);
  ASSERT_FALSE(watcher.ok());
  EXPECT_TRUE(absl::StrContains(watcher.status().message(), "broken.pem"));
}

// A key added to a live directory is picked up by polling, published as next, signs after the
// publish period, and the old key is dropped once its last token has expired.
TEST_F(KeyWatcherTest, AddedKeyBecomesNextThenActiveThenOldRetires) {
  const std::string old_kid = NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const std::string new_kid = NewKey(T);

  watcher->Tick();  // Poll not due yet.
  EXPECT_EQ(PublishedKids(*watcher).size(), 1u);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(StateOf(*watcher, new_kid), KeyState::kNext);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, new_kid}));
  EXPECT_EQ(SigningKid(*watcher), old_kid);
  // The snapshot already knows when to hand over, however late the next tick runs.
  EXPECT_EQ(watcher->provider().Current()->SigningKeyAt(T + P).kid(), new_kid);

  clock_.Set(T + P);
  watcher->Tick();
  EXPECT_EQ(StateOf(*watcher, new_kid), KeyState::kActive);
  EXPECT_EQ(StateOf(*watcher, old_kid), KeyState::kRetiring);
  EXPECT_EQ(watcher->provider().Current()->signing_key().kid(), new_kid);
  EXPECT_EQ(PublishedKids(*watcher).size(), 2u);

  clock_.Set(T + P + R - absl::Seconds(1));
  watcher->Tick();
  EXPECT_EQ(StateOf(*watcher, old_kid), KeyState::kRetiring);
  clock_.Set(T + P + R);
  watcher->Tick();
  EXPECT_EQ(StateOf(*watcher, old_kid), KeyState::kRetired);
  EXPECT_EQ(PublishedKids(*watcher), std::vector<std::string>{new_kid});
  EXPECT_EQ(watcher->provider().Current()->FindByKid(old_kid), nullptr);
  EXPECT_EQ(watcher->stats().loads, 2);
  EXPECT_EQ(watcher->stats().replacements, 3);  // next, active, retired.
  EXPECT_EQ(CountLogLines("\"state\":\"retired\""), 1);
}

// A garbage .pem is reported once (file name, not contents) and the old set stays in force,
// still following the clock; removing the file recovers.
TEST_F(KeyWatcherTest, BadFileKeepsOldSetAndIsReportedOnce) {
  const std::string old_kid = NewKey(T - absl::Hours(10));
  const std::string new_kid = NewKey(T - absl::Minutes(30));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const KeySetPtr before = watcher->provider().Current();

  WriteFile(dir_ + "/zz-broken.pem", kGarbagePem);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(watcher->provider().Current(), before);
  EXPECT_EQ(watcher->stats().load_failures, 1);
  for (int i = 0; i < 5; ++i) AdvanceAndTick(*watcher);
  EXPECT_EQ(watcher->stats().load_failures, 1);  // Same broken state: reported once.
  EXPECT_EQ(CountLogLines("key reload failed"), 1);
  for (const std::string& line : LogLines()) {
    if (!absl::StrContains(line, "key reload failed")) continue;
    EXPECT_TRUE(absl::StrContains(line, "zz-broken.pem")) << line;
    EXPECT_FALSE(absl::StrContains(line, "U2VjcmV0")) << line;
    EXPECT_FALSE(absl::StrContains(line, "PRIVATE KEY")) << line;
  }

  // SIGHUP retries and reports again.
  EXPECT_FALSE(watcher->Reload().ok());
  EXPECT_EQ(watcher->stats().load_failures, 2);

  // The kept keys still move with time: the next key activates on schedule.
  clock_.Set(T + absl::Minutes(30));
  watcher->Tick();
  EXPECT_EQ(StateOf(*watcher, new_kid), KeyState::kActive);
  EXPECT_EQ(SigningKid(*watcher), new_kid);

  std::filesystem::remove(dir_ + "/zz-broken.pem");
  const int64_t loads = watcher->stats().loads;
  AdvanceAndTick(*watcher);
  EXPECT_EQ(watcher->stats().loads, loads + 1);
  EXPECT_EQ(watcher->stats().load_failures, 2);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, new_kid}));
}

// A directory emptied or removed under a running server keeps the keys in use.
TEST_F(KeyWatcherTest, EmptiedDirectoryKeepsOldSet) {
  const std::string kid = NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::filesystem::remove(entry.path());
  }
  AdvanceAndTick(*watcher);
  EXPECT_EQ(SigningKid(*watcher), kid);
  EXPECT_EQ(watcher->stats().load_failures, 1);
  std::filesystem::remove(dir_);
  AdvanceAndTick(*watcher);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(SigningKid(*watcher), kid);
  EXPECT_EQ(watcher->stats().load_failures, 2);
}

// Polling an unchanged directory never re-reads it or replaces the key set.
TEST_F(KeyWatcherTest, UnchangedDirectoryIsNotReread) {
  NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const KeySetPtr before = watcher->provider().Current();
  for (int i = 0; i < 20; ++i) AdvanceAndTick(*watcher);
  EXPECT_EQ(watcher->stats().loads, 1);
  EXPECT_EQ(watcher->stats().replacements, 0);
  EXPECT_EQ(watcher->provider().Current(), before);
}

// Reload (SIGHUP) reads a new key at once, without waiting for the poll.
TEST_F(KeyWatcherTest, ReloadPicksUpNewKeyBeforePoll) {
  NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const std::string new_kid = NewKey(T);
  ASSERT_TRUE(watcher->Reload().ok());
  EXPECT_EQ(StateOf(*watcher, new_kid), KeyState::kNext);
  EXPECT_EQ(PublishedKids(*watcher).size(), 2u);
  EXPECT_EQ(CountLogLines("\"trigger\":\"sighup\""), 1);
}

// A Kubernetes Secret mount (files linked through an atomically swapped "..data" link) is
// followed: new files and new contents under unchanged names are both noticed.
TEST_F(KeyWatcherTest, SecretMountSymlinkSwapIsFollowed) {
  namespace fs = std::filesystem;
  const std::string v1 = dir_ + "/..2024_03_01_00_00_00.1";
  fs::create_directory(v1);
  const std::string old_kid = NewKey(T - absl::Hours(10), v1);
  WriteFile(v1 + "/refresh-secret", "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo\n");
  fs::create_directory_symlink(fs::path(v1).filename(), dir_ + "/..data");
  for (const auto& entry : fs::directory_iterator(v1)) {
    const std::string name = entry.path().filename().string();
    fs::create_symlink("..data/" + name, dir_ + "/" + name);
  }
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  EXPECT_EQ(PublishedKids(*watcher), std::vector<std::string>{old_kid});
  EXPECT_TRUE(LoadRefreshSecret(dir_, /*create_if_missing=*/false).ok());

  // Swap like the kubelet: new version dir, "..data_tmp" link renamed over "..data",
  // then links for new names, then the old version removed.
  const auto swap_to = [&](const std::string& version) {
    fs::create_directory_symlink(fs::path(version).filename(), dir_ + "/..data_tmp");
    ASSERT_EQ(std::rename((dir_ + "/..data_tmp").c_str(), (dir_ + "/..data").c_str()), 0);
    for (const auto& entry : fs::directory_iterator(version)) {
      const std::string link = dir_ + "/" + entry.path().filename().string();
      if (!fs::is_symlink(fs::symlink_status(link))) {
        fs::create_symlink("..data/" + entry.path().filename().string(), link);
      }
    }
  };
  const std::string v2 = dir_ + "/..2024_03_01_00_05_00.2";
  fs::create_directory(v2);
  for (const auto& entry : fs::directory_iterator(v1)) {
    fs::copy_file(entry.path(), v2 + "/" + entry.path().filename().string());
  }
  const std::string new_kid = NewKey(T, v2);
  swap_to(v2);
  fs::remove_all(v1);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, new_kid}));
  EXPECT_EQ(StateOf(*watcher, new_kid), KeyState::kNext);

  // Same file names, new content for the newer key: only the "..data" target changes.
  const std::string v3 = dir_ + "/..2024_03_01_00_06_00.3";
  fs::create_directory(v3);
  std::string new_name;
  for (const auto& entry : fs::directory_iterator(v2)) {
    const std::string name = entry.path().filename().string();
    if (absl::StrContains(name, new_kid.substr(0, 8))) {
      new_name = name;
      continue;
    }
    fs::copy_file(entry.path(), v3 + "/" + name);
  }
  auto replacement = RsaKey::Generate(2048);
  ASSERT_TRUE(replacement.ok());
  WriteFile(v3 + "/" + new_name, *(*replacement)->PrivatePem());
  swap_to(v3);
  fs::remove_all(v2);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, (*replacement)->kid()}));
}

// The background thread ticks by itself: a scheduled transition shows up without any call.
TEST_F(KeyWatcherTest, BackgroundThreadAppliesTransitions) {
  const std::string old_kid = NewKey(T - absl::Hours(10));
  const std::string new_kid = NewKey(T - absl::Minutes(1));
  auto watcher = KeyWatcher::Create({.dir = dir_,
                                     .policy = {.publish_period = P, .retire_after = R},
                                     .tick_interval = absl::Milliseconds(5)},
                                    clock_);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  (*watcher)->Start();
  clock_.Set(T + P);
  EXPECT_TRUE(testing::PollUntil(
      [&] { return (*watcher)->provider().Current()->signing_key().kid() == new_kid; },
      absl::Seconds(10)));
  clock_.Set(T + P + R);
  EXPECT_TRUE(testing::PollUntil(
      [&] { return (*watcher)->provider().Current()->FindByKid(old_kid) == nullptr; },
      absl::Seconds(10)));
  (*watcher)->Stop();
  (*watcher)->Stop();  // Idempotent.
}

// A key file others may write is refused at start-up and on reload: the keys in use are kept
// and the failure is logged with the file name; fixing the mode is picked up by the poll.
TEST_F(KeyWatcherTest, WritableKeyFileIsRefusedAndCurrentKeysKept) {
  const std::string old_kid = NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const KeySetPtr before = watcher->provider().Current();

  const std::string new_kid = NewKey(T);
  std::string new_file;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (absl::StrContains(entry.path().filename().string(), new_kid.substr(0, 8))) {
      new_file = entry.path().string();
    }
  }
  ASSERT_FALSE(new_file.empty());
  ASSERT_EQ(::chmod(new_file.c_str(), 0666), 0);
  const absl::Status reloaded = watcher->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kPermissionDenied) << reloaded;
  EXPECT_EQ(watcher->provider().Current(), before);
  EXPECT_EQ(PublishedKids(*watcher), std::vector<std::string>{old_kid});
  EXPECT_EQ(CountLogLines("key reload failed"), 1);
  EXPECT_EQ(CountLogLines(std::filesystem::path(new_file).filename().string()), 1);
  EXPECT_EQ(CountLogLines("PRIVATE KEY"), 0);
  AdvanceAndTick(*watcher);  // Unchanged since the failed read: not reported again.
  EXPECT_EQ(CountLogLines("key reload failed"), 1);
  EXPECT_EQ(watcher->stats().load_failures, 1);

  // A fresh start on that directory is refused too.
  EXPECT_EQ(
      KeyWatcher::Create({.dir = dir_, .policy = {.publish_period = P, .retire_after = R}}, clock_)
          .status()
          .code(),
      absl::StatusCode::kPermissionDenied);

  ASSERT_EQ(::chmod(new_file.c_str(), 0600), 0);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, new_kid}));
}

// The same for the directory: once others may write it, reloads are refused.
TEST_F(KeyWatcherTest, WritableKeyDirectoryIsRefusedOnReload) {
  const std::string old_kid = NewKey(T - absl::Hours(10));
  auto watcher = MakeWatcher();
  ASSERT_NE(watcher, nullptr);
  const std::string new_kid = NewKey(T);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(PublishedKids(*watcher), std::vector<std::string>{old_kid});
  EXPECT_EQ(watcher->Reload().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  AdvanceAndTick(*watcher);
  EXPECT_EQ(PublishedKids(*watcher), (std::vector<std::string>{old_kid, new_kid}));
}

}  // namespace
}  // namespace token
