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
  auto path = WriteNewKey(dir_, 2048, kNow);
  ASSERT_TRUE(path.ok()) << path.status();
  const std::string name = std::filesystem::path(*path).filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex("key-20240301T123456Z-[A-Za-z0-9_-]{8}\\.pem")))
      << name;
  EXPECT_EQ(Mode(*path), 0600);
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
}

// A sub-second creation instant is rounded up, so a key never looks older than its file.
TEST_F(KeyDirectoryTest, WriteRoundsCreationTimeUp) {
  auto path = WriteNewKey(dir_, 2048, kNow + absl::Milliseconds(300));
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(KeyFileCreatedTime(std::filesystem::path(*path).filename().string()),
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
  auto path = WriteNewKey(nested, 2048, kNow);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(Mode(nested), 0700);
  EXPECT_EQ(Mode(dir_ + "/a"), 0700);
  EXPECT_EQ(Mode(*path), 0600);
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
  EXPECT_EQ((*keys)[0].file, std::filesystem::path(*older).filename().string());
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

}  // namespace
}  // namespace token
