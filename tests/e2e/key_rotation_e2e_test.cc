// Key rotation end to end: signing keys rotate under the real token-server
// while a client issues and verifies continuously, online (VerifyAccess) and
// offline (a JWKS cache that honours Cache-Control), plus keygen and a broken
// key file dropped into the live directory.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/common/base64url.h"
#include "server/jwt/verifier.h"
#include "server/keys/jwks.h"
#include "server/keys/key_directory.h"
#include "server/keys/key_set.h"
#include "tests/e2e/e2e_calls.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/poll.h"
#include "tests/harness/postgres_environment.h"

namespace token::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kJwksPath[] = "/.well-known/jwks.json";

// Short times so that two rotations fit in well under a minute. Half the
// publish period (the JWKS max-age, 6 s) leaves 6 s for the server's directory
// poll (2 s, checked on a 1 s tick) to notice a new key.
const std::vector<std::string> kRotationFlags = {"--key-publish-period=12s", "--access-ttl=3s",
                                                 "--clock-skew=0s"};

// KidOf returns the kid from a compact JWS header, "" when unreadable.
std::string KidOf(const std::string& token) {
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return "";
  const std::optional<std::string> header = Base64UrlDecode(parts[0]);
  if (!header) return "";
  const nlohmann::json json = nlohmann::json::parse(*header, nullptr, false);
  if (!json.is_object() || !json.contains("kid") || !json["kid"].is_string()) return "";
  return json["kid"].get<std::string>();
}

// JwksKids lists the kids the server publishes right now.
std::vector<std::string> JwksKids(const TokenServerProcess& server) {
  std::vector<std::string> kids;
  const auto jwks = server.HttpGet(kJwksPath);
  const nlohmann::json json = nlohmann::json::parse(jwks.body, nullptr, false);
  if (!json.is_object() || !json["keys"].is_array()) return kids;
  for (const auto& key : json["keys"]) kids.push_back(key.value("kid", ""));
  return kids;
}

// LogHasLine is true when one line of `log` contains every needle.
bool LogHasLine(const std::string& log, std::initializer_list<absl::string_view> needles) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    bool all = true;
    for (absl::string_view needle : needles) all = all && absl::StrContains(line, needle);
    if (all) return true;
  }
  return false;
}

bool Contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// MakeTempDir returns a fresh private directory under the system temp dir.
std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "keyrot-e2e-XXXXXX").string();
  return ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

// RunKeygen runs `token-server keygen` into `dir` and returns the new key's
// kid. Its output goes to "<dir>.keygen.log" (the parent of `dir` must exist).
std::string RunKeygen(const std::string& dir, std::vector<std::string> extra = {}) {
  const std::string out = dir + ".keygen.log";
  std::vector<std::string> args = {"keygen", "--key-dir=" + dir};
  args.insert(args.end(), extra.begin(), extra.end());
  absl::StatusOr<int> code = RunTokenServer(args, out);
  EXPECT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code.value_or(-1), 0);
  // The last line reports the key: {"msg":"wrote signing key","path":…,"kid":…}.
  absl::StatusOr<std::string> log = ReadFileToString(out);
  std::string kid;
  for (absl::string_view line : absl::StrSplit(log.value_or(""), '\n')) {
    const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.value("msg", "") == "wrote signing key") {
      kid = json.value("kid", "");
    }
  }
  EXPECT_FALSE(kid.empty()) << log.value_or("");
  return kid;
}

// JwksCache is what an offline resource server keeps: the JWKS, fetched over
// HTTP and reused for the max-age the response's Cache-Control allows, then
// revalidated with If-None-Match. It deliberately never refetches early (not
// even for an unknown kid), so a key that signed before every cache could
// have seen it would show up as a verification failure.
class JwksCache {
 public:
  explicit JwksCache(const TokenServerProcess& server) : server_(server) {}

  // Keys returns the cached keys, refetching once max-age has elapsed.
  absl::StatusOr<KeySetPtr> Keys(absl::Time now) {
    absl::MutexLock lock(&mu_);
    if (keys_ != nullptr && now < expires_) return keys_;
    const auto response = server_.HttpGet(kJwksPath, etag_);
    absl::Duration max_age;
    if (!ParseMaxAge(response.cache_control, &max_age)) {
      return absl::InternalError("bad Cache-Control: " + response.cache_control);
    }
    if (response.status == 304 && keys_ != nullptr) {
      ++not_modified_;
    } else if (response.status == 200) {
      absl::StatusOr<std::vector<RsaKeyPtr>> parsed = ParseJwks(response.body);
      if (!parsed.ok()) return parsed.status();
      absl::StatusOr<KeySetPtr> keys = KeySet::CreateForVerification(*std::move(parsed));
      if (!keys.ok()) return keys.status();
      keys_ = *std::move(keys);
      etag_ = response.etag;
      ++fetches_;
    } else {
      return absl::UnavailableError(absl::StrCat("JWKS answered ", response.status));
    }
    max_age_ = max_age;
    expires_ = now + max_age;
    return keys_;
  }

  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  int not_modified() const {
    absl::MutexLock lock(&mu_);
    return not_modified_;
  }
  absl::Duration max_age() const {
    absl::MutexLock lock(&mu_);
    return max_age_;
  }

 private:
  static bool ParseMaxAge(const std::string& cache_control, absl::Duration* out) {
    for (absl::string_view directive : absl::StrSplit(cache_control, ',')) {
      directive = absl::StripAsciiWhitespace(directive);
      int64_t seconds = 0;
      if (absl::ConsumePrefix(&directive, "max-age=") && absl::SimpleAtoi(directive, &seconds)) {
        *out = absl::Seconds(seconds);
        return true;
      }
    }
    return false;
  }

  const TokenServerProcess& server_;
  mutable absl::Mutex mu_;
  KeySetPtr keys_ ABSL_GUARDED_BY(mu_);
  std::string etag_ ABSL_GUARDED_BY(mu_);
  absl::Time expires_ ABSL_GUARDED_BY(mu_);
  absl::Duration max_age_ ABSL_GUARDED_BY(mu_);
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
  int not_modified_ ABSL_GUARDED_BY(mu_) = 0;
};

// RotationClient issues and verifies in a loop on its own thread, counting
// failures and remembering, per signing kid, the last token it received.
class RotationClient {
 public:
  struct Token {
    std::string access_token;
    absl::Time expires_at;
  };

  explicit RotationClient(TokenServerProcess& server) : server_(server), cache_(server) {
    thread_ = std::thread([this] { Run(); });
  }
  ~RotationClient() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  int rounds() const {
    absl::MutexLock lock(&mu_);
    return rounds_;
  }
  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mu_);
    return failures_;
  }
  // kids lists the signing kids in the order they first signed.
  std::vector<std::string> kids() const {
    absl::MutexLock lock(&mu_);
    return kids_;
  }
  Token last_token_of(const std::string& kid) const {
    absl::MutexLock lock(&mu_);
    auto it = last_token_.find(kid);
    return it == last_token_.end() ? Token{} : it->second;
  }
  const JwksCache& cache() const { return cache_; }

 private:
  void Run() {
    VerifyOptions offline;
    offline.issuer = "token-service";
    offline.audience = "api";
    offline.clock_skew = absl::ZeroDuration();
    while (!stop_) {
      v1::IssueTokensRequest request;
      request.set_subject("rotation-client");
      v1::IssueTokensResponse response;
      const grpc::Status issued =
          server_.stub().IssueTokens(ContextWithDeadline().get(), request, &response);
      if (!issued.ok()) {
        Fail(absl::StrCat("IssueTokens: ", issued.error_message()));
        continue;
      }
      const std::string& token = response.tokens().access_token();
      const std::string kid = KidOf(token);
      const grpc::Status online = Verify(server_, token);
      if (!online.ok()) Fail(absl::StrCat("VerifyAccess ", ErrorReasonOf(online), " kid ", kid));
      absl::StatusOr<KeySetPtr> keys = cache_.Keys(absl::Now());
      if (!keys.ok()) {
        Fail(absl::StrCat("JWKS: ", keys.status().ToString()));
      } else if (auto claims = VerifyAccessToken(token, **keys, offline, absl::Now());
                 !claims.ok()) {
        Fail(absl::StrCat("offline verify ", claims.status().message(), " kid ", kid));
      }
      {
        absl::MutexLock lock(&mu_);
        ++rounds_;
        if (kids_.empty() || kids_.back() != kid) kids_.push_back(kid);
        last_token_[kid] = {token,
                            absl::FromUnixSeconds(response.tokens().access_expires_at().seconds())};
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  void Fail(std::string what) {
    absl::MutexLock lock(&mu_);
    failures_.push_back(std::move(what));
  }

  TokenServerProcess& server_;
  JwksCache cache_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  int rounds_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> kids_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Token> last_token_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// Two rotations (one noticed by polling, one by SIGHUP) under continuous issue
// and verification: zero failures online and offline, the signing kid changes
// each time, the retiring key's last token verifies until it expires, and the
// retired key's token then fails with TOKEN_SIGNATURE_INVALID.
TEST(KeyRotationE2eTest, RotationUnderLoadHasZeroVerificationFailures) {
  auto server = StartServer(kRotationFlags);
  ASSERT_NE(server, nullptr);
  RotationClient client(*server);
  ASSERT_TRUE(PollUntil([&] { return client.rounds() >= 10; }, absl::Seconds(20)));
  ASSERT_EQ(client.kids().size(), 1u);
  const std::string first_kid = client.kids()[0];
  const std::string first_etag = server->HttpGet(kJwksPath).etag;

  // Rotation 1: keygen into the live directory; the poll finds it.
  const std::string second_kid = RunKeygen(server->key_dir(), {"--key-publish-period=12s"});
  ASSERT_TRUE(
      PollUntil([&] { return Contains(JwksKids(*server), second_kid); }, absl::Seconds(10)));
  // Published before it signs, with a new ETag; the old one no longer matches.
  EXPECT_FALSE(Contains(client.kids(), second_kid));
  EXPECT_NE(server->HttpGet(kJwksPath).etag, first_etag);
  EXPECT_EQ(server->HttpGet(kJwksPath, first_etag).status, 200);
  ASSERT_TRUE(PollUntil([&] { return Contains(client.kids(), second_kid); }, absl::Seconds(20)));

  // The first key is retiring: its last token verifies until it expires...
  const RotationClient::Token last = client.last_token_of(first_kid);
  ASSERT_FALSE(last.access_token.empty());
  int verified_while_retiring = 0;
  std::string first_failure;
  ASSERT_TRUE(PollUntil(
      [&] {
        const grpc::Status status = Verify(*server, last.access_token);
        const absl::Time now = absl::Now();
        // The server rejects at now >= exp (skew 0); this clock is read after
        // the server's, so allow only the call's latency past exp for an OK.
        if (status.ok()) {
          EXPECT_LT(now, last.expires_at + absl::Milliseconds(500));
          ++verified_while_retiring;
          return false;
        }
        EXPECT_GE(now, last.expires_at) << ErrorReasonOf(status);
        first_failure = ErrorReasonOf(status);
        return true;
      },
      absl::Seconds(10), absl::Milliseconds(50)));
  EXPECT_GT(verified_while_retiring, 0);
  EXPECT_EQ(first_failure, "TOKEN_EXPIRED");
  // ...then the key retires: dropped from the JWKS and from verification.
  EXPECT_TRUE(PollUntil(
      [&] {
        return ErrorReasonOf(Verify(*server, last.access_token)) == "TOKEN_SIGNATURE_INVALID";
      },
      absl::Seconds(10)));
  EXPECT_FALSE(Contains(JwksKids(*server), first_kid));

  // Rotation 2: keygen, then SIGHUP reloads at once.
  const std::string third_kid = RunKeygen(server->key_dir(), {"--key-publish-period=12s"});
  ASSERT_TRUE(server->process().Signal(SIGHUP).ok());
  EXPECT_TRUE(PollUntil(
      [&] {
        return LogHasLine(server->Log(), {"key directory loaded", "\"trigger\":\"sighup\""});
      },
      absl::Seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return Contains(client.kids(), third_kid); }, absl::Seconds(25)));
  const int rounds_at_switch = client.rounds();
  ASSERT_TRUE(
      PollUntil([&] { return client.rounds() >= rounds_at_switch + 10; }, absl::Seconds(10)));
  client.Stop();

  EXPECT_THAT(client.failures(), ::testing::IsEmpty());
  EXPECT_EQ(client.kids(), (std::vector<std::string>{first_kid, second_kid, third_kid}));
  EXPECT_GT(client.rounds(), 100);
  // The offline cache honoured max-age = publish period / 2 and revalidated.
  EXPECT_EQ(client.cache().max_age(), absl::Seconds(6));
  EXPECT_GE(client.cache().fetches(), 2);
  EXPECT_GE(client.cache().not_modified(), 1);
  EXPECT_THAT(server->Log(), HasSubstr("\"state\":\"retiring\""));
  EXPECT_THAT(server->Log(), HasSubstr("\"state\":\"retired\""));
}

// A garbage .pem dropped into the live directory is reported (file name only)
// and the server keeps serving with the keys it had, also after SIGHUP; once
// the file is removed the directory loads again.
TEST(KeyRotationE2eTest, GarbagePemIsReportedAndOldSetKept) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const auto before = server->HttpGet(kJwksPath);
  ASSERT_EQ(before.status, 200);
  // Default publish period 1h: the JWKS may be cached for 30 minutes.
  EXPECT_EQ(before.cache_control, "public, max-age=1800");

  const std::string garbage = server->key_dir() + "/zz-garbage.pem";
  std::ofstream(garbage) << "-----BEGIN PRIVATE KEY-----\nR2FyYmFnZUdhcmJhZ2U=\n"
                            "-----END PRIVATE KEY-----\n";
  ASSERT_TRUE(PollUntil(
      [&] {
        return LogHasLine(server->Log(),
                          {"key reload failed", "\"trigger\":\"change\"", "zz-garbage.pem"});
      },
      absl::Seconds(10)));
  ASSERT_TRUE(server->process().Signal(SIGHUP).ok());
  ASSERT_TRUE(PollUntil(
      [&] {
        return LogHasLine(server->Log(),
                          {"key reload failed", "\"trigger\":\"sighup\"", "zz-garbage.pem"});
      },
      absl::Seconds(10)));

  // Still serving, with the same keys.
  EXPECT_TRUE(server->process().IsRunning());
  EXPECT_EQ(server->HttpGet("/readyz").status, 200);
  EXPECT_EQ(server->HttpGet(kJwksPath).etag, before.etag);
  EXPECT_EQ(server->HttpGet(kJwksPath, before.etag).status, 304);
  v1::IssueTokensRequest request;
  request.set_subject("after-garbage");
  v1::IssueTokensResponse response;
  ASSERT_TRUE(server->stub().IssueTokens(ContextWithDeadline().get(), request, &response).ok());
  EXPECT_TRUE(Verify(*server, response.tokens().access_token()).ok());
  EXPECT_TRUE(Contains(JwksKids(*server), KidOf(response.tokens().access_token())));
  const std::string log = server->Log();
  EXPECT_THAT(log, Not(HasSubstr("R2FyYmFnZ")));
  EXPECT_THAT(log, Not(HasSubstr("BEGIN PRIVATE KEY")));

  std::filesystem::remove(garbage);
  EXPECT_TRUE(PollUntil(
      [&] {
        return LogHasLine(server->Log(), {"key directory loaded", "\"trigger\":\"change\""});
      },
      absl::Seconds(10)));
  EXPECT_EQ(server->HttpGet(kJwksPath).etag, before.etag);
}

// keygen writes a 0600 key of 2048 bits by default and of 3072 bits when asked.
TEST(KeyRotationE2eTest, KeygenWritesPrivateKeyOfRequestedSize) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  const std::string default_kid = RunKeygen(dir + "/keys");
  const std::string large_kid = RunKeygen(dir + "/keys", {"--bits=3072"});
  auto keys = LoadKeyFiles(dir + "/keys");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  for (const DatedKey& key : *keys) {
    struct stat st;
    ASSERT_EQ(::stat((dir + "/keys/" + key.file).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key.file;
    EXPECT_EQ(key.key->bits(), key.key->kid() == large_kid ? 3072 : 2048);
    EXPECT_TRUE(key.key->kid() == default_kid || key.key->kid() == large_kid);
    EXPECT_LE(key.created, absl::Now() + absl::Seconds(1));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// keygen with an unsupported size is bad configuration: exit 2 and no file.
TEST(KeyRotationE2eTest, KeygenUnsupportedBitsExitsTwo) {
  const std::string parent = MakeTempDir();
  ASSERT_FALSE(parent.empty());
  const std::string dir = parent + "/keys";
  for (const char* bits : {"--bits=1024", "--bits=8192"}) {
    absl::StatusOr<int> code =
        RunTokenServer({"keygen", "--key-dir=" + dir, bits}, parent + "/keygen.log");
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 2) << bits;
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  std::error_code ec;
  std::filesystem::remove_all(parent, ec);
}

}  // namespace
}  // namespace token::testing
