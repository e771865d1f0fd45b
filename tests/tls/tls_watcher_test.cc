// TlsWatcher: reloads TLS files and the policy when they change, keeps what
// is in use when a replacement is broken, and reports each problem once.
#include "server/tls/tls_watcher.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/log.h"
#include "tests/common/fake_clock.h"
#include "tests/harness/poll.h"
#include "tests/tls/test_pki.h"

namespace token::tls {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using token::testing::Issued;
using token::testing::TestCa;
using token::testing::WriteFile;

class TlsWatcherTest : public ::testing::Test {
 protected:
  TlsWatcherTest() : ca_(TestCa::Create("watcher CA")), clock_(absl::Now()) {}

  void SetUp() override {
    dir_ = token::testing::MakeTempDir("tls-watcher");
    ASSERT_FALSE(dir_.empty());
    paths_ = {.cert = dir_ + "/tls.crt", .key = dir_ + "/tls.key", .client_ca = dir_ + "/ca.crt"};
    policy_path_ = dir_ + "/policy.json";
    first_ = NewServerCert();
    ASSERT_TRUE(WriteServer(first_));
    ASSERT_TRUE(WriteFile(paths_.client_ca, ca_.cert_pem()));
    ASSERT_TRUE(WriteFile(policy_path_, "policy v1"));
    SetLogSinkForTest([this](const std::string& line) { log_.push_back(line); });
  }
  void TearDown() override {
    SetLogSinkForTest(nullptr);
    std::filesystem::remove_all(dir_);
  }

  Issued NewServerCert() { return ca_.Issue({.common_name = "localhost", .server = true}); }
  bool WriteServer(const Issued& cert) {
    return WriteFile(paths_.key, cert.key_pem) && WriteFile(paths_.cert, cert.cert_pem);
  }

  // Create makes a watcher that records what it publishes and loads.
  std::unique_ptr<TlsWatcher> Create(absl::Status* publish_result = nullptr) {
    absl::StatusOr<std::unique_ptr<TlsWatcher>> watcher = TlsWatcher::Create(
        {.paths = paths_, .authz_policy = policy_path_, .poll_interval = absl::Seconds(1)}, clock_,
        [this, publish_result](const TlsMaterial& material) {
          if (publish_result != nullptr && !publish_result->ok()) return *publish_result;
          published_.push_back(material.leaf_serial());
          return absl::OkStatus();
        },
        [this](const std::string& text) {
          if (absl::StrContains(text, "broken")) return absl::InvalidArgumentError("bad policy");
          policies_.push_back(text);
          return absl::OkStatus();
        });
    EXPECT_TRUE(watcher.ok()) << watcher.status();
    return watcher.ok() ? *std::move(watcher) : nullptr;
  }

  int LogLines(absl::string_view needle) const {
    int n = 0;
    for (const std::string& line : log_) n += absl::StrContains(line, needle) ? 1 : 0;
    return n;
  }

  TestCa ca_;
  FakeClock clock_;
  std::string dir_;
  TlsPaths paths_;
  std::string policy_path_;
  Issued first_;
  std::vector<std::string> published_;
  std::vector<std::string> policies_;
  std::vector<std::string> log_;
};

// Create loads, publishes and installs the files and the policy once.
TEST_F(TlsWatcherTest, CreateLoadsAndPublishes) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  ASSERT_NE(watcher, nullptr);
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  EXPECT_THAT(published_, ::testing::ElementsAre(first_.serial));
  EXPECT_THAT(policies_, ::testing::ElementsAre("policy v1"));
  EXPECT_EQ(LogLines("TLS certificate loaded"), 1);
}

// Polling unchanged files does nothing: no publication, no log line.
TEST_F(TlsWatcherTest, UnchangedFilesAreNotReloaded) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  for (int i = 0; i < 3; ++i) watcher->Poll();
  EXPECT_EQ(published_.size(), 1u);
  EXPECT_EQ(policies_.size(), 1u);
  EXPECT_EQ(watcher->stats().reloads, 0);
}

// A replaced certificate is validated, published and served.
TEST_F(TlsWatcherTest, ReplacedCertificateIsReloaded) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  const TlsMaterialPtr before = watcher->Current();
  const Issued second = NewServerCert();
  ASSERT_TRUE(WriteServer(second));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), second.serial);
  EXPECT_THAT(published_, ::testing::ElementsAre(first_.serial, second.serial));
  EXPECT_EQ(watcher->stats().reloads, 1);
  EXPECT_EQ(LogLines("TLS certificate reloaded"), 1);
  // Connections holding the old snapshot keep a valid object.
  EXPECT_EQ(before->leaf_serial(), first_.serial);
}

// A broken replacement keeps the certificate in use and is reported once,
// however often it is polled; fixing it reloads.
TEST_F(TlsWatcherTest, BrokenCertificateKeepsOldAndLogsOnce) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  ASSERT_TRUE(
      WriteFile(paths_.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  for (int i = 0; i < 3; ++i) watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  EXPECT_EQ(published_.size(), 1u);
  EXPECT_EQ(watcher->stats().rejected, 1);
  EXPECT_EQ(LogLines("TLS files rejected"), 1);
  EXPECT_EQ(LogLines(paths_.cert), 1);
  // SIGHUP reports it again.
  EXPECT_FALSE(watcher->Reload().ok());
  EXPECT_EQ(LogLines("TLS files rejected"), 2);

  const Issued fixed = NewServerCert();
  ASSERT_TRUE(WriteServer(fixed));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), fixed.serial);
}

// A certificate replaced before its key (a non-atomic update) is rejected
// until the key follows; nothing mismatched is ever published.
TEST_F(TlsWatcherTest, HalfReplacedPairWaitsForTheKey) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  const Issued second = NewServerCert();
  ASSERT_TRUE(WriteFile(paths_.cert, second.cert_pem));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  EXPECT_EQ(LogLines("does not match the certificate"), 1);
  ASSERT_TRUE(WriteFile(paths_.key, second.key_pem));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), second.serial);
  EXPECT_THAT(published_, ::testing::ElementsAre(first_.serial, second.serial));
}

// A deleted file keeps the certificate in use (Kubernetes swaps Secret files
// by symlink; a poll may land in between).
TEST_F(TlsWatcherTest, MissingFileKeepsOld) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  std::filesystem::remove(paths_.key);
  watcher->Poll();
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  EXPECT_EQ(LogLines("TLS files unreadable"), 1);
}

// When publishing fails the material in use stays and the next poll retries.
TEST_F(TlsWatcherTest, PublishFailureKeepsOldAndRetries) {
  absl::Status publish_result = absl::OkStatus();
  std::unique_ptr<TlsWatcher> watcher = Create(&publish_result);
  publish_result = absl::UnavailableError("disk full");
  const Issued second = NewServerCert();
  ASSERT_TRUE(WriteServer(second));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  publish_result = absl::OkStatus();
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), second.serial);
}

// The certificate expiring between polls does not matter; an expired
// replacement is refused by the clock the watcher was given.
TEST_F(TlsWatcherTest, ExpiredReplacementIsRejected) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  const Issued short_lived =
      ca_.Issue({.common_name = "localhost", .server = true, .not_after = absl::Hours(1)});
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(WriteServer(short_lived));
  watcher->Poll();
  EXPECT_EQ(watcher->Current()->leaf_serial(), first_.serial);
  EXPECT_EQ(LogLines("expired at"), 1);
}

// A changed policy is handed to the loader; a broken one keeps the old.
TEST_F(TlsWatcherTest, PolicyChangesAreLoadedAndBrokenOnesKept) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  ASSERT_TRUE(WriteFile(policy_path_, "policy v2"));
  watcher->Poll();
  EXPECT_THAT(policies_, ::testing::ElementsAre("policy v1", "policy v2"));
  ASSERT_TRUE(WriteFile(policy_path_, "broken policy"));
  watcher->Poll();
  watcher->Poll();
  EXPECT_EQ(policies_.size(), 2u);
  EXPECT_EQ(watcher->stats().policy_rejected, 1);
  EXPECT_EQ(LogLines("authorization policy rejected"), 1);
  EXPECT_EQ(LogLines("--authz-policy " + policy_path_), 1);
}

// Start-up refuses broken files and a broken policy, naming the file.
TEST_F(TlsWatcherTest, CreateFailsOnBrokenInput) {
  ASSERT_TRUE(WriteFile(policy_path_, "broken"));
  absl::StatusOr<std::unique_ptr<TlsWatcher>> watcher = TlsWatcher::Create(
      {.paths = paths_, .authz_policy = policy_path_, .poll_interval = absl::Seconds(1)}, clock_,
      [](const TlsMaterial&) { return absl::OkStatus(); },
      [](const std::string&) { return absl::InvalidArgumentError("bad policy"); });
  ASSERT_FALSE(watcher.ok());
  EXPECT_EQ(watcher.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(watcher.status().message(), HasSubstr("--authz-policy " + policy_path_));

  ASSERT_TRUE(WriteFile(paths_.client_ca, "not a CA"));
  watcher = TlsWatcher::Create(
      {.paths = paths_, .authz_policy = "", .poll_interval = absl::Seconds(1)}, clock_,
      [](const TlsMaterial&) { return absl::OkStatus(); }, nullptr);
  ASSERT_FALSE(watcher.ok());
  EXPECT_THAT(watcher.status().message(), HasSubstr("--tls-client-ca " + paths_.client_ca));
}

// Start() polls in the background: a replacement is picked up without a call.
TEST_F(TlsWatcherTest, BackgroundPollingReloads) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  watcher->Start();
  const Issued second = NewServerCert();
  ASSERT_TRUE(WriteServer(second));
  EXPECT_TRUE(token::testing::PollUntil(
      [&] { return watcher->Current()->leaf_serial() == second.serial; }, absl::Seconds(10)));
  watcher->Stop();
}

// No log line ever carries key material.
TEST_F(TlsWatcherTest, LogsNeverContainKeys) {
  std::unique_ptr<TlsWatcher> watcher = Create();
  ASSERT_TRUE(WriteFile(paths_.key, "garbage " + first_.key_pem.substr(0, 60)));
  watcher->Poll();
  for (const std::string& line : log_) {
    EXPECT_THAT(line, Not(HasSubstr("PRIVATE KEY")));
    EXPECT_THAT(line, Not(HasSubstr(first_.key_pem.substr(40, 20))));
  }
}

}  // namespace
}  // namespace token::tls
