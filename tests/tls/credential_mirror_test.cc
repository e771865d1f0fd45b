// CredentialMirror: the private copy of validated TLS material that gRPC's
// file watcher reads.
#include "server/tls/credential_mirror.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tls/test_pki.h"

namespace token::tls {
namespace {

using ::testing::HasSubstr;
using token::testing::Issued;
using token::testing::TestCa;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct stat Stat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}

class CredentialMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_ = token::testing::MakeTempDir("mirror-test");
    ASSERT_FALSE(parent_.empty());
  }
  void TearDown() override { std::filesystem::remove_all(parent_); }

  TlsMaterialPtr Material(const TestCa& ca, bool mutual) {
    const Issued server = ca.Issue({.common_name = "localhost", .server = true});
    const TlsPaths paths = {.cert = "c", .key = "k", .client_ca = mutual ? "ca" : ""};
    absl::StatusOr<TlsMaterialPtr> material = TlsMaterial::Parse(
        paths, {server.cert_pem, server.key_pem, mutual ? ca.cert_pem() : ""}, absl::Now());
    EXPECT_TRUE(material.ok()) << material.status();
    return material.ok() ? *material : nullptr;
  }

  std::string parent_;
};

// Publish writes the identity (chain then key, 0600) and the CA bundle into
// a private 0700 directory.
TEST_F(CredentialMirrorTest, PublishWritesPrivateFiles) {
  const TestCa ca = TestCa::Create("mirror CA");
  absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_);
  ASSERT_TRUE(mirror.ok()) << mirror.status();
  const TlsMaterialPtr material = Material(ca, /*mutual=*/true);
  ASSERT_TRUE((*mirror)->Publish(*material).ok());

  EXPECT_EQ(Stat((*mirror)->dir()).st_mode & 0777, 0700u);
  EXPECT_EQ(Stat((*mirror)->identity_path()).st_mode & 0777, 0600u);
  EXPECT_EQ(Slurp((*mirror)->identity_path()), material->identity_pem());
  EXPECT_EQ(Slurp((*mirror)->client_ca_path()), material->client_ca_pem());
  EXPECT_EQ(token::testing::SerialOfPem(Slurp((*mirror)->identity_path())),
            material->leaf_serial());
  // No temporary files are left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator((*mirror)->dir())) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::EndsWith(".pem"));
    ++files;
  }
  EXPECT_EQ(files, 2);
}

// Without mTLS no CA file is written.
TEST_F(CredentialMirrorTest, NoClientCaWithoutMutualTls) {
  const TestCa ca = TestCa::Create("mirror CA");
  absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_);
  ASSERT_TRUE(mirror.ok());
  ASSERT_TRUE((*mirror)->Publish(*Material(ca, /*mutual=*/false)).ok());
  EXPECT_FALSE(std::filesystem::exists((*mirror)->client_ca_path()));
}

// Publications in quick succession get strictly increasing whole-second
// modification times, so gRPC's before/after check sees every replacement.
TEST_F(CredentialMirrorTest, ModificationTimesStrictlyIncrease) {
  const TestCa ca = TestCa::Create("mirror CA");
  absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_);
  ASSERT_TRUE(mirror.ok());
  time_t previous = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*mirror)->Publish(*Material(ca, /*mutual=*/true)).ok());
    const time_t mtime = Stat((*mirror)->identity_path()).st_mtime;
    EXPECT_GT(mtime, previous);
    EXPECT_EQ(Stat((*mirror)->client_ca_path()).st_mtime, mtime);
    previous = mtime;
  }
}

// The directory, with the key copy, is removed with the mirror.
TEST_F(CredentialMirrorTest, DestructionRemovesDirectory) {
  const TestCa ca = TestCa::Create("mirror CA");
  std::string dir;
  {
    absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_);
    ASSERT_TRUE(mirror.ok());
    ASSERT_TRUE((*mirror)->Publish(*Material(ca, /*mutual=*/true)).ok());
    dir = (*mirror)->dir();
    ASSERT_TRUE(std::filesystem::exists(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

// A parent directory that does not exist is an error naming it.
TEST_F(CredentialMirrorTest, MissingParentFails) {
  absl::StatusOr<CredentialMirrorPtr> mirror = CredentialMirror::Create(parent_ + "/nope");
  ASSERT_FALSE(mirror.ok());
  EXPECT_THAT(mirror.status().message(), HasSubstr(parent_ + "/nope"));
}

}  // namespace
}  // namespace token::tls
