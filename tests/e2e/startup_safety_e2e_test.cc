// What `token-server serve` refuses to start with: plaintext on a non-loopback
// address without --insecure-plaintext, a key directory without keys unless
// --generate-keys asks for development keys, and key files others may write.
// Each is bad configuration: exit code 2 and a message naming the fix.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/keys/key_directory.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class StartupSafetyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "token-startup-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    out_ = dir_ + "/server.log";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Serve runs `serve` to completion on loopback ports against the test
  // database with `args` last; returns its exit code, its output in `output`.
  int Serve(const std::vector<std::string>& args, std::string* output) {
    std::vector<std::string> argv = {"serve", "--grpc-listen=127.0.0.1:0",
                                     "--http-listen=127.0.0.1:0",
                                     "--database-url=" + PostgresEnvironment::Get().conninfo()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::filesystem::remove(out_);
    absl::StatusOr<int> code = RunTokenServer(argv, out_);
    EXPECT_TRUE(code.ok()) << code.status();
    *output = ReadText(out_);
    return code.ok() ? *code : -1;
  }

  std::string dir_;
  std::string out_;
};

// 0.0.0.0 and [::] are every interface: plaintext there is refused unless
// --insecure-plaintext accepts it, for the gRPC and the HTTP address.
TEST_F(StartupSafetyE2eTest, PlaintextOnAllInterfacesNeedsInsecurePlaintext) {
  for (const std::string& flag :
       {std::string("--grpc-listen=0.0.0.0:0"), std::string("--grpc-listen=[::]:0"),
        std::string("--http-listen=0.0.0.0:0")}) {
    std::string output;
    EXPECT_EQ(Serve({flag, "--key-dir=" + dir_ + "/keys", "--generate-keys"}, &output), 2) << flag;
    EXPECT_THAT(output, HasSubstr("--insecure-plaintext")) << flag;
    EXPECT_THAT(output, HasSubstr("not a loopback address")) << flag;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/keys"));  // Refused before touching keys.

  auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(),
                                          {"--grpc-listen=0.0.0.0:0", "--insecure-plaintext"});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Log(), HasSubstr("--insecure-plaintext: plaintext on a non-loopback"));
  EXPECT_EQ((*server)->HttpGet("/readyz").status, 200);
}

// Without --generate-keys an empty or missing key directory, or a missing
// refresh-secret, is a start-up error naming the flag; with it, keys are
// written and the server starts.
TEST_F(StartupSafetyE2eTest, MissingKeysNeedGenerateKeys) {
  const std::string keys = dir_ + "/keys";
  std::string output;
  EXPECT_EQ(Serve({"--key-dir=" + keys}, &output), 2);
  EXPECT_THAT(output, HasSubstr("cannot load signing keys"));
  EXPECT_THAT(output, HasSubstr("--generate-keys"));
  EXPECT_FALSE(std::filesystem::exists(keys));

  std::filesystem::create_directory(keys);
  ::chmod(keys.c_str(), 0700);
  EXPECT_EQ(Serve({"--key-dir=" + keys}, &output), 2);
  EXPECT_THAT(output, HasSubstr("no *.pem key file"));
  EXPECT_THAT(output, HasSubstr("--generate-keys"));
  EXPECT_TRUE(std::filesystem::is_empty(keys));

  // A key but no refresh-secret: still refused, nothing generated.
  ASSERT_TRUE(WriteNewKey(keys, 2048, absl::Now()).ok());
  EXPECT_EQ(Serve({"--key-dir=" + keys}, &output), 2);
  EXPECT_THAT(output, HasSubstr("refresh-secret"));
  EXPECT_THAT(output, HasSubstr("--generate-keys"));
  EXPECT_FALSE(std::filesystem::exists(keys + "/refresh-secret"));

  // TokenServerProcess passes --generate-keys.
  const std::string fresh = dir_ + "/fresh";
  auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), {}, fresh);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Log(), HasSubstr("generated a development signing key"));
  EXPECT_TRUE(std::filesystem::exists(fresh + "/refresh-secret"));
}

// A key file others may write is refused at start-up, with the file and the
// fix named and no key material; --generate-keys does not paper over it.
TEST_F(StartupSafetyE2eTest, WritableKeyFileIsRefused) {
  const std::string keys = dir_ + "/keys";
  absl::StatusOr<WrittenKey> written = WriteNewKey(keys, 2048, absl::Now());
  ASSERT_TRUE(written.ok()) << written.status();
  const std::string* path = &written->path;
  ASSERT_TRUE(LoadRefreshSecret(keys, /*create_if_missing=*/true).ok());
  ASSERT_EQ(::chmod(path->c_str(), 0666), 0);
  std::string output;
  EXPECT_EQ(Serve({"--key-dir=" + keys, "--generate-keys"}, &output), 2);
  EXPECT_THAT(output, HasSubstr(std::filesystem::path(*path).filename().string()));
  EXPECT_THAT(output, HasSubstr("chmod 0600"));
  EXPECT_THAT(output, Not(HasSubstr("-----BEGIN")));

  ASSERT_EQ(::chmod(path->c_str(), 0600), 0);
  ASSERT_EQ(::chmod(keys.c_str(), 0777), 0);
  EXPECT_EQ(Serve({"--key-dir=" + keys}, &output), 2);
  EXPECT_THAT(output, HasSubstr("chmod 0700"));

  ASSERT_EQ(::chmod(keys.c_str(), 0750), 0);
  auto server =
      TokenServerProcess::Start(PostgresEnvironment::Get().conninfo(), {"--nogenerate-keys"}, keys);
  ASSERT_TRUE(server.ok()) << server.status();
}

}  // namespace
}  // namespace token::testing
