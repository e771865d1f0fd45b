#include "server/keys/key_directory.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/common/base64url.h"
#include "server/common/log.h"
#include "tests/keys/test_keys.h"

namespace token {
namespace {

// A fixed instant: 2024-03-01T12:34:56Z.
const absl::Time kNow = absl::FromUnixSeconds(1709296496);

class KeyDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "keydir-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
  }

  void WriteFile(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
  }

  std::vector<std::string> FileNames() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
};

// WriteNewKey writes a 0600 file named by UTC time and kid prefix that loads with that time.
TEST_F(KeyDirectoryTest, WriteThenLoadSucceeds) {
  auto written = WriteNewKey(dir_, 2048, kNow);
  ASSERT_TRUE(written.ok()) << written.status();
  const std::string name = std::filesystem::path(written->path).filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex("key-20240301T123456Z-[A-Za-z0-9_-]{8}\\.pem")))
      << name;
  EXPECT_EQ(Mode(written->path), 0600);
  EXPECT_EQ(written->created, kNow);
  EXPECT_EQ(FileNames(), std::vector<std::string>{name});  // No temporary file left behind.

  auto keys = LoadKeyFiles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].file, name);
  EXPECT_EQ((*keys)[0].created, kNow);
  EXPECT_EQ((*keys)[0].key->bits(), 2048);
  EXPECT_TRUE((*keys)[0].key->has_private_key());
  EXPECT_EQ(name.substr(21, 8), (*keys)[0].key->kid().substr(0, 8));
  EXPECT_EQ(name, KeyFileName(kNow, (*keys)[0].key->kid()));
  EXPECT_EQ(written->kid, (*keys)[0].key->kid());
}

// A sub-second creation instant is rounded up, so a key never looks older than its file.
TEST_F(KeyDirectoryTest, WriteRoundsCreationTimeUp) {
  auto written = WriteNewKey(dir_, 2048, kNow + absl::Milliseconds(300));
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->created, kNow + absl::Seconds(1));
  EXPECT_EQ(KeyFileCreatedTime(std::filesystem::path(written->path).filename().string()),
            kNow + absl::Seconds(1));
}

// WriteKeyFile refuses a public-only key: there is nothing private to write.
TEST_F(KeyDirectoryTest, WritePublicOnlyKeyFails) {
  auto key = RsaKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  auto public_only = RsaKey::FromPublicJwk((*key)->n(), (*key)->e());
  ASSERT_TRUE(public_only.ok());
  EXPECT_EQ(WriteKeyFile(dir_, **public_only, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(FileNames().empty());
}

// WriteNewKey creates missing directories with mode 0700.
TEST_F(KeyDirectoryTest, WriteCreatesMissingDirPrivate) {
  const std::string nested = dir_ + "/a/keys";
  auto written = WriteNewKey(nested, 2048, kNow);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(Mode(nested), 0700);
  EXPECT_EQ(Mode(dir_ + "/a"), 0700);
  EXPECT_EQ(Mode(written->path), 0600);
}

// Every key file loads with the creation time of its name, sorted by file name.
TEST_F(KeyDirectoryTest, LoadReturnsCreationTimesFromNames) {
  auto newer = WriteNewKey(dir_, 2048, kNow);
  auto older = WriteNewKey(dir_, 2048, kNow - absl::Hours(24));
  ASSERT_TRUE(older.ok() && newer.ok());
  auto keys = LoadKeyFiles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].created, kNow - absl::Hours(24));
  EXPECT_EQ((*keys)[0].file, std::filesystem::path(older->path).filename().string());
  EXPECT_EQ((*keys)[1].created, kNow);
}

// A key file whose name carries no time loads as created at the Unix epoch.
TEST_F(KeyDirectoryTest, UndatedFileCountsAsEpoch) {
  auto key = RsaKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  WriteFile("signing.pem", *(*key)->PrivatePem());
  auto keys = LoadKeyFiles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].created, absl::UnixEpoch());
  EXPECT_EQ((*keys)[0].key->kid(), (*key)->kid());
}

// Only "key-<valid UTC time>[-suffix].pem" names carry a creation time.
TEST(KeyFileCreatedTimeTest, ParsesOnlyValidNames) {
  EXPECT_EQ(KeyFileCreatedTime("key-20240301T123456Z-AbCdEfGh.pem"), kNow);
  EXPECT_EQ(KeyFileCreatedTime("key-20240301T123456Z.pem"), kNow);
  EXPECT_EQ(KeyFileCreatedTime("key-20240229T000000Z-x.pem"),
            absl::FromCivil(absl::CivilSecond(2024, 2, 29, 0, 0, 0), absl::UTCTimeZone()));
  for (const char* name :
       {"signing.pem", "key-.pem", "key-20241301T000000Z-x.pem", "key-20230229T000000Z.pem",
        "key-20240301T240000Z.pem", "key-20240301T123460Z.pem", "key-2024031T123456Z.pem",
        "key-20240301T123456Zx.pem", "key-20240301T123456Z-x.pem.bak", "key-20240301 123456Z.pem",
        "key-+0240301T123456Z.pem", "key-20240301t123456z.pem", "Key-20240301T123456Z.pem",
        "key-20240301T123456Z-x.PEM"}) {
    EXPECT_FALSE(KeyFileCreatedTime(name).has_value()) << name;
  }
}

// Files not named *.pem, hidden files and directories are ignored.
TEST_F(KeyDirectoryTest, LoadIgnoresOtherFiles) {
  ASSERT_TRUE(WriteNewKey(dir_, 2048, kNow).ok());
  WriteFile("README", "not a key");
  WriteFile("refresh-secret", "not a key either");
  WriteFile(".key-in-progress.pem", "garbage");
  WriteFile("notes.pem.bak", "garbage");
  std::filesystem::create_directory(dir_ + "/sub.pem");
  auto keys = LoadKeyFiles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 1u);
}

// A bad PEM file fails the load with a message naming the file but not its contents.
TEST_F(KeyDirectoryTest, LoadBadPemNamesFileOnly) {
  ASSERT_TRUE(WriteNewKey(dir_, 2048, kNow).ok());
  WriteFile("broken.pem",
            "-----BEGIN PRIVATE KEY-----\nTUlJc2VjcmV0c2VjcmV0\n-----END PRIVATE KEY-----\n");
  auto keys = LoadKeyFiles(dir_);
  ASSERT_FALSE(keys.ok());
  const std::string message(keys.status().message());
  EXPECT_TRUE(absl::StrContains(message, "broken.pem")) << message;
  EXPECT_FALSE(absl::StrContains(message, "PRIVATE KEY")) << message;
  EXPECT_FALSE(absl::StrContains(message, "TUlJc2Vj")) << message;
}

// An empty directory and a missing one are NOT_FOUND.
TEST_F(KeyDirectoryTest, LoadEmptyOrMissingDirIsNotFound) {
  EXPECT_EQ(LoadKeyFiles(dir_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadKeyFiles(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(KeyDirectoryFingerprint(dir_ + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

// The fingerprint is stable while nothing changes and moves with any key file change.
TEST_F(KeyDirectoryTest, FingerprintChangesOnlyWithKeyFiles) {
  auto path = WriteNewKey(dir_, 2048, kNow);
  ASSERT_TRUE(path.ok());
  const auto first = KeyDirectoryFingerprint(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*KeyDirectoryFingerprint(dir_), *first);
  WriteFile("README", "not a key");
  EXPECT_EQ(*KeyDirectoryFingerprint(dir_), *first);

  WriteFile("extra.pem", "garbage");
  const std::string with_extra = *KeyDirectoryFingerprint(dir_);
  EXPECT_NE(with_extra, *first);
  // Replaced under the same name (a new inode), as editors and `cp` over a file do.
  const std::string tmp = dir_ + "/.extra.tmp";
  std::ofstream(tmp) << "other garbage!";
  std::filesystem::rename(tmp, dir_ + "/extra.pem");
  EXPECT_NE(*KeyDirectoryFingerprint(dir_), with_extra);
  std::filesystem::remove(dir_ + "/extra.pem");
  EXPECT_EQ(*KeyDirectoryFingerprint(dir_), *first);
}

// EnsureDevKey writes one key into an empty directory, then does nothing.
TEST_F(KeyDirectoryTest, EnsureDevKeyIsIdempotent) {
  const std::string keys_dir = dir_ + "/keys";
  auto first = EnsureDevKey(keys_dir, kNow);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  auto second = EnsureDevKey(keys_dir, kNow + absl::Hours(1));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(*second);
  auto keys = LoadKeyFiles(keys_dir);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].key->bits(), 2048);
}

// The refresh secret is created as 0600 base64url and reloads as the same 32 bytes.
TEST_F(KeyDirectoryTest, RefreshSecretCreateThenReloadSameBytes) {
  auto created = LoadRefreshSecret(dir_, /*create_if_missing=*/true);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), kRefreshSecretBytes);
  EXPECT_EQ(Mode(dir_ + "/refresh-secret"), 0600);
  auto again = LoadRefreshSecret(dir_, /*create_if_missing=*/true);
  auto loaded = LoadRefreshSecret(dir_, /*create_if_missing=*/false);
  ASSERT_TRUE(again.ok() && loaded.ok());
  EXPECT_EQ(*again, *created);
  EXPECT_EQ(*loaded, *created);
  EXPECT_EQ(FileNames(), std::vector<std::string>{"refresh-secret"});
}

// A missing refresh secret is NOT_FOUND unless creation is asked for.
TEST_F(KeyDirectoryTest, RefreshSecretMissingIsNotFound) {
  EXPECT_EQ(LoadRefreshSecret(dir_, false).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(FileNames().empty());
}

// A hand-written secret with a trailing newline is accepted.
TEST_F(KeyDirectoryTest, RefreshSecretWithNewlineLoads) {
  const std::string secret(32, '\x5a');
  WriteFile("refresh-secret", Base64UrlEncode(secret) + "\n");
  auto loaded = LoadRefreshSecret(dir_, false);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, secret);
}

// Garbage, padded base64 and secrets of the wrong size are rejected, never replaced.
TEST_F(KeyDirectoryTest, RefreshSecretGarbageFails) {
  for (const std::string& content :
       {std::string("not base64!"), std::string(""), Base64UrlEncode(std::string(16, 'x')),
        Base64UrlEncode(std::string(33, 'x')), Base64UrlEncode(std::string(32, 'x')) + "="}) {
    WriteFile("refresh-secret", content);
    const auto loaded = LoadRefreshSecret(dir_, /*create_if_missing=*/true);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << content;
  }
}

// Key-file and directory permissions. Kubernetes mounts a Secret as links
// into a "..data" version directory, 0440 with fsGroup; group- or
// world-writable is refused, world-readable only warned about.
class KeyPermissionsTest : public KeyDirectoryTest {
 protected:
  void SetUp() override {
    KeyDirectoryTest::SetUp();
    ::chmod(dir_.c_str(), 0700);
    SetLogSinkForTest([this](const std::string& line) { log_ += line + "\n"; });
  }
  void TearDown() override {
    SetLogSinkForTest(nullptr);
    KeyDirectoryTest::TearDown();
  }

  // WriteKey writes test key 0 as "<dir>/<name>" with `mode`; returns its PEM.
  std::string WriteKey(const std::string& dir, const std::string& name, mode_t mode) {
    const std::string pem = *testing::TestKey(0)->PrivatePem();
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << pem;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return pem;
  }

  void WriteSecret(const std::string& dir, mode_t mode) {
    const std::string path = dir + "/refresh-secret";
    std::ofstream(path, std::ios::binary) << Base64UrlEncode(std::string(32, 'k')) << "\n";
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
  }

  std::string log_;
};

constexpr char kKeyName[] = "key-20240301T000000Z-abcdefgh.pem";

TEST_F(KeyPermissionsTest, OwnerOrGroupReadableFilesLoadWithoutWarning) {
  for (const mode_t mode : {0600, 0640, 0440, 0400}) {
    WriteKey(dir_, kKeyName, mode);
    WriteSecret(dir_, mode);
    const auto keys = LoadKeyFiles(dir_);
    EXPECT_TRUE(keys.ok()) << std::oct << mode << ": " << keys.status();
    const auto secret = LoadRefreshSecret(dir_, /*create_if_missing=*/false);
    EXPECT_TRUE(secret.ok()) << std::oct << mode << ": " << secret.status();
    std::filesystem::remove(dir_ + "/" + kKeyName);
    std::filesystem::remove(dir_ + "/refresh-secret");
  }
  EXPECT_EQ(log_, "");
}

// 0644 (a Secret's default mode) loads, with a warning naming the file, never the key.
TEST_F(KeyPermissionsTest, WorldReadableFileLoadsWithWarning) {
  WriteKey(dir_, kKeyName, 0644);
  WriteSecret(dir_, 0644);
  ASSERT_TRUE(LoadKeyFiles(dir_).ok());
  ASSERT_TRUE(LoadRefreshSecret(dir_, /*create_if_missing=*/false).ok());
  EXPECT_TRUE(absl::StrContains(log_, "readable by every local user")) << log_;
  EXPECT_TRUE(absl::StrContains(log_, kKeyName)) << log_;
  EXPECT_TRUE(absl::StrContains(log_, "refresh-secret")) << log_;
  EXPECT_TRUE(absl::StrContains(log_, "0644")) << log_;
  EXPECT_FALSE(absl::StrContains(log_, "PRIVATE KEY")) << log_;
  EXPECT_FALSE(absl::StrContains(log_, Base64UrlEncode(std::string(32, 'k')))) << log_;
}

// Anyone who may write a key file may replace the signing key: refused, with the file and
// the fix in the message and no key material.
TEST_F(KeyPermissionsTest, GroupOrWorldWritableFilesAreRefused) {
  for (const mode_t mode : {0664, 0666, 0622, 0620, 0602}) {
    WriteKey(dir_, kKeyName, mode);
    const auto keys = LoadKeyFiles(dir_);
    ASSERT_FALSE(keys.ok()) << std::oct << mode;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(absl::StrContains(keys.status().message(), kKeyName)) << keys.status();
    EXPECT_TRUE(absl::StrContains(keys.status().message(), "chmod 0600")) << keys.status();
    EXPECT_TRUE(absl::StrContains(keys.status().message(), "0440")) << keys.status();
    EXPECT_FALSE(absl::StrContains(keys.status().message(), "PRIVATE KEY"));
    std::filesystem::remove(dir_ + "/" + kKeyName);

    WriteSecret(dir_, mode);
    for (const bool create : {false, true}) {
      const auto secret = LoadRefreshSecret(dir_, create);
      ASSERT_FALSE(secret.ok()) << std::oct << mode;
      EXPECT_EQ(secret.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_TRUE(absl::StrContains(secret.status().message(), "refresh-secret"))
          << secret.status();
      EXPECT_TRUE(absl::StrContains(secret.status().message(), "chmod 0600")) << secret.status();
    }
    std::filesystem::remove(dir_ + "/refresh-secret");
  }
}

// A directory others may write lets them plant a key: refused, whatever the files' modes.
TEST_F(KeyPermissionsTest, GroupOrWorldWritableDirectoryIsRefused) {
  WriteKey(dir_, kKeyName, 0600);
  WriteSecret(dir_, 0600);
  for (const mode_t mode : {0777, 0770, 0730, 01777}) {
    ASSERT_EQ(::chmod(dir_.c_str(), mode), 0);
    const auto keys = LoadKeyFiles(dir_);
    ASSERT_FALSE(keys.ok()) << std::oct << mode;
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(absl::StrContains(keys.status().message(), dir_)) << keys.status();
    EXPECT_TRUE(absl::StrContains(keys.status().message(), "chmod 0700")) << keys.status();
    EXPECT_EQ(LoadRefreshSecret(dir_, /*create_if_missing=*/false).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  for (const mode_t mode : {0700, 0750, 0755, 02750}) {
    ASSERT_EQ(::chmod(dir_.c_str(), mode), 0);
    EXPECT_TRUE(LoadKeyFiles(dir_).ok()) << std::oct << mode;
    EXPECT_TRUE(LoadRefreshSecret(dir_, /*create_if_missing=*/false).ok()) << std::oct << mode;
  }
}

// A generated secret is never written into a directory others may write.
TEST_F(KeyPermissionsTest, NoSecretIsCreatedInWritableDirectory) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  EXPECT_EQ(LoadRefreshSecret(dir_, /*create_if_missing=*/true).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(FileNames().empty());
}

// The Kubernetes Secret layout: names linked through "..data" into a version directory,
// files 0440. The files the links resolve to and their directory are what is checked.
TEST_F(KeyPermissionsTest, SecretVolumeLayoutLoads) {
  namespace fs = std::filesystem;
  const std::string version = dir_ + "/..2024_03_01_00_00_00.123";
  fs::create_directory(version);
  ASSERT_EQ(::chmod(version.c_str(), 02755), 0);
  WriteKey(version, kKeyName, 0440);
  WriteSecret(version, 0440);
  fs::create_directory_symlink(fs::path(version).filename(), dir_ + "/..data");
  fs::create_symlink(std::string("..data/") + kKeyName, dir_ + "/" + kKeyName);
  fs::create_symlink("..data/refresh-secret", dir_ + "/refresh-secret");
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);

  const auto keys = LoadKeyFiles(dir_);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 1u);
  EXPECT_TRUE(LoadRefreshSecret(dir_, /*create_if_missing=*/false).ok());
  EXPECT_EQ(log_, "");

  // The links themselves are 0777; the targets decide. A writable target is refused ...
  ASSERT_EQ(::chmod((version + "/" + kKeyName).c_str(), 0666), 0);
  EXPECT_EQ(LoadKeyFiles(dir_).status().code(), absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod((version + "/" + kKeyName).c_str(), 0440), 0);
  // ... and so is a writable version directory.
  ASSERT_EQ(::chmod(version.c_str(), 0777), 0);
  const auto refused = LoadKeyFiles(dir_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "..2024_03_01_00_00_00.123"))
      << refused.status();
  EXPECT_EQ(LoadRefreshSecret(dir_, /*create_if_missing=*/false).status().code(),
            absl::StatusCode::kPermissionDenied);
}

// Changing the directory's mode changes the fingerprint, so the watcher re-reads.
TEST_F(KeyPermissionsTest, DirectoryModeIsInFingerprint) {
  WriteKey(dir_, kKeyName, 0600);
  const auto before = KeyDirectoryFingerprint(dir_);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(::chmod(dir_.c_str(), 0770), 0);
  EXPECT_NE(*KeyDirectoryFingerprint(dir_), *before);
}

}  // namespace
}  // namespace token
