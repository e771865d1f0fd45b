#include "server/config/config.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace token {
namespace {

using Env = std::map<std::string, std::string>;

// EnvOf looks variables up in `vars` only, never in the process environment.
EnvLookup EnvOf(Env vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

absl::StatusOr<Invocation> Parse(const std::vector<std::string>& args, Env env = {}) {
  return ParseInvocation(args, EnvOf(std::move(env)));
}

// ParseConfig parses and returns the config, failing the test on error.
ServerConfig ParseConfig(const std::vector<std::string>& args, Env env = {}) {
  absl::StatusOr<Invocation> invocation = Parse(args, std::move(env));
  EXPECT_TRUE(invocation.ok()) << invocation.status();
  return invocation.ok() ? invocation->config : ServerConfig{};
}

// ExpectBadConfig checks that parsing fails with an error status (exit 2).
void ExpectBadConfig(const std::vector<std::string>& args, Env env = {}) {
  absl::StatusOr<Invocation> invocation = Parse(args, std::move(env));
  ASSERT_FALSE(invocation.ok()) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_FALSE(invocation.status().message().empty());
}

// No flags and no environment give the documented defaults (README.md) and the serve command.
TEST(ConfigTest, DefaultsMatchSpecTable) {
  absl::StatusOr<Invocation> invocation = Parse({});
  ASSERT_TRUE(invocation.ok()) << invocation.status();
  EXPECT_EQ(invocation->command, Command::kServe);
  const ServerConfig& c = invocation->config;
  EXPECT_EQ(c.grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(c.http_listen, "127.0.0.1:8080");
  EXPECT_EQ(c.database_url, "");  // The embedded development database.
  EXPECT_EQ(c.key_dir, "./.data/keys");
  EXPECT_EQ(c.issuer, "token-service");
  EXPECT_EQ(c.audience, "api");
  EXPECT_EQ(c.access_ttl, absl::Minutes(15));
  EXPECT_EQ(c.refresh_idle_ttl, absl::Hours(168));
  EXPECT_EQ(c.refresh_absolute_ttl, absl::Hours(720));
  EXPECT_EQ(c.reuse_grace, absl::Seconds(10));
  EXPECT_EQ(c.clock_skew, absl::Seconds(30));
  EXPECT_EQ(c.key_publish_period, absl::Hours(1));
  EXPECT_EQ(c.key_bits, 2048);
  EXPECT_TRUE(c.migrate);
  EXPECT_EQ(c.tls_cert, "");
  EXPECT_EQ(c.tls_key, "");
  EXPECT_EQ(c.tls_client_ca, "");
  EXPECT_EQ(c.authz_policy, "");
  EXPECT_EQ(c.tls_reload_interval, absl::Seconds(60));
}

// A TOKEN_* variable sets its flag.
TEST(ConfigTest, EnvAccessTtlApplies) {
  EXPECT_EQ(ParseConfig({}, {{"TOKEN_ACCESS_TTL", "5m"}}).access_ttl, absl::Minutes(5));
}

// Every flag reads TOKEN_ + its upper-case name with '-' as '_'.
TEST(ConfigTest, EnvNamesFollowFlagNames) {
  const ServerConfig c = ParseConfig({}, {{"TOKEN_GRPC_LISTEN", "0.0.0.0:9000"},
                                          {"TOKEN_HTTP_LISTEN", "0.0.0.0:9001"},
                                          {"TOKEN_DATABASE_URL", "host=db dbname=token"},
                                          {"TOKEN_KEY_DIR", "secrets/keys"},
                                          {"TOKEN_ISSUER", "https://auth.example"},
                                          {"TOKEN_AUDIENCE", "payments"},
                                          {"TOKEN_REFRESH_IDLE_TTL", "24h"},
                                          {"TOKEN_REFRESH_ABSOLUTE_TTL", "48h"},
                                          {"TOKEN_REUSE_GRACE", "0s"},
                                          {"TOKEN_CLOCK_SKEW", "5s"},
                                          {"TOKEN_KEY_PUBLISH_PERIOD", "90m"},
                                          {"TOKEN_MIGRATE", "false"}});
  EXPECT_EQ(c.grpc_listen, "0.0.0.0:9000");
  EXPECT_EQ(c.http_listen, "0.0.0.0:9001");
  EXPECT_EQ(c.database_url, "host=db dbname=token");
  EXPECT_EQ(c.key_dir, "secrets/keys");
  EXPECT_EQ(c.issuer, "https://auth.example");
  EXPECT_EQ(c.audience, "payments");
  EXPECT_EQ(c.refresh_idle_ttl, absl::Hours(24));
  EXPECT_EQ(c.refresh_absolute_ttl, absl::Hours(48));
  EXPECT_EQ(c.reuse_grace, absl::ZeroDuration());
  EXPECT_EQ(c.clock_skew, absl::Seconds(5));
  EXPECT_EQ(c.key_publish_period, absl::Minutes(90));
  EXPECT_FALSE(c.migrate);
}

// A flag on the command line wins over its environment variable.
TEST(ConfigTest, CommandLineWinsOverEnv) {
  const ServerConfig c = ParseConfig({"--access-ttl=2m", "--audience", "cli"},
                                     {{"TOKEN_ACCESS_TTL", "5m"}, {"TOKEN_AUDIENCE", "env"}});
  EXPECT_EQ(c.access_ttl, absl::Minutes(2));
  EXPECT_EQ(c.audience, "cli");
}

// Parsing depends only on its inputs: an earlier parse leaves nothing behind.
TEST(ConfigTest, ParseTwiceStartsFromDefaults) {
  ParseConfig({"--access-ttl=2m"}, {{"TOKEN_AUDIENCE", "env"}});
  const ServerConfig c = ParseConfig({});
  EXPECT_EQ(c.access_ttl, absl::Minutes(15));
  EXPECT_EQ(c.audience, "api");
}

// --grpc-listen takes its value as the next argument or after '='.
TEST(ConfigTest, GrpcListenBothFormsApply) {
  EXPECT_EQ(ParseConfig({"--grpc-listen", "1.2.3.4:1"}).grpc_listen, "1.2.3.4:1");
  EXPECT_EQ(ParseConfig({"--grpc-listen=1.2.3.4:1"}).grpc_listen, "1.2.3.4:1");
  EXPECT_EQ(ParseConfig({"--grpc-listen=[::1]:50051"}).grpc_listen, "[::1]:50051");
  EXPECT_EQ(ParseConfig({"--http-listen", "localhost:8081"}).http_listen, "localhost:8081");
}

// --nomigrate and --migrate=false turn migration off; --migrate turns it on.
TEST(ConfigTest, NomigrateAndMigrateFalseDisableMigration) {
  EXPECT_FALSE(ParseConfig({"--nomigrate"}).migrate);
  EXPECT_FALSE(ParseConfig({"--migrate=false"}).migrate);
  EXPECT_TRUE(ParseConfig({"--migrate"}, {{"TOKEN_MIGRATE", "false"}}).migrate);
  EXPECT_TRUE(ParseConfig({"--migrate=true"}).migrate);
}

// Durations use Abseil syntax on the command line too.
TEST(ConfigTest, DurationFlagsApply) {
  const ServerConfig c =
      ParseConfig({"--access-ttl=90s", "--refresh-idle-ttl", "1h30m", "--refresh-absolute-ttl=2h",
                   "--reuse-grace=0", "--clock-skew=1s"});
  EXPECT_EQ(c.access_ttl, absl::Seconds(90));
  EXPECT_EQ(c.refresh_idle_ttl, absl::Minutes(90));
  EXPECT_EQ(c.refresh_absolute_ttl, absl::Hours(2));
  EXPECT_EQ(c.reuse_grace, absl::ZeroDuration());
  EXPECT_EQ(c.clock_skew, absl::Seconds(1));
}

// Unknown flags, including Abseil's own, are errors.
TEST(ConfigTest, UnknownFlagFails) {
  ExpectBadConfig({"--bogus"});
  ExpectBadConfig({"--bogus=1"});
  ExpectBadConfig({"--flagfile=flags.txt"});
  ExpectBadConfig({"--fromenv=PATH"});
  ExpectBadConfig({"--no-migrate"});
  ExpectBadConfig({"--noaudience"});
  ExpectBadConfig({"--"});
}

// The error names the unknown flag.
TEST(ConfigTest, UnknownFlagMessageNamesFlag) {
  absl::StatusOr<Invocation> invocation = Parse({"--acess-ttl=5m"});
  ASSERT_FALSE(invocation.ok());
  EXPECT_TRUE(absl::StrContains(invocation.status().message(), "acess-ttl")) << invocation.status();
}

// A flag without its value is an error.
TEST(ConfigTest, MissingValueFails) { ExpectBadConfig({"--grpc-listen"}); }

// Malformed durations fail, on the command line and in the environment.
TEST(ConfigTest, BadDurationFails) {
  ExpectBadConfig({"--access-ttl=5"});
  ExpectBadConfig({"--access-ttl=five minutes"});
  ExpectBadConfig({"--access-ttl=5 m"});
  ExpectBadConfig({"--access-ttl="});
  ExpectBadConfig({"--access-ttl=0s"});
  ExpectBadConfig({"--access-ttl=-5m"});
  ExpectBadConfig({"--clock-skew=-1s"});
  ExpectBadConfig({}, {{"TOKEN_ACCESS_TTL", "soon"}});
  ExpectBadConfig({}, {{"TOKEN_REFRESH_IDLE_TTL", "7d"}});  // Abseil has no 'd' unit.
}

// "inf" is no usable lifetime, grace or skew and must stop start-up.
TEST(ConfigTest, InfiniteDurationFails) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--access-ttl=inf"},
           {"--access-ttl=500ms"},
           {"--refresh-idle-ttl=inf", "--refresh-absolute-ttl=inf"},
           {"--refresh-absolute-ttl=inf"},
           {"--reuse-grace=inf"},
           {"--clock-skew=inf"}}) {
    EXPECT_FALSE(Parse(args).ok()) << ::testing::PrintToString(args);
  }
}

// The key publish period must be finite, at least 1 s and at most 30 days.
TEST(ConfigTest, KeyPublishPeriodOutOfRangeFails) {
  for (const char* bad : {"inf", "0s", "500ms", "-1s", "721h", "soon"}) {
    ExpectBadConfig({std::string("--key-publish-period=") + bad});
  }
  EXPECT_EQ(ParseConfig({"--key-publish-period=1s"}).key_publish_period, absl::Seconds(1));
  EXPECT_EQ(ParseConfig({"--key-publish-period", "720h"}).key_publish_period, absl::Hours(720));
}

// keygen sizes: 2048 (default), 3072 and 4096 are accepted; anything else is bad config.
TEST(ConfigTest, KeyBitsOnlySupportedSizes) {
  for (int bits : {2048, 3072, 4096}) {
    EXPECT_EQ(ParseConfig({"keygen", "--bits=" + std::to_string(bits)}).key_bits, bits);
  }
  for (const char* bad : {"1024", "2047", "8192", "0", "big"}) {
    ExpectBadConfig({"keygen", std::string("--bits=") + bad});
  }
}

// A port with blanks or a sign is no port; SimpleAtoi must not make it one.
TEST(ConfigTest, ListenPortWithBlankOrSignFails) {
  for (const char* value : {"1.2.3.4: 80", "1.2.3.4:80 ", "1.2.3.4:+80", "a b:80"}) {
    EXPECT_FALSE(Parse({"--grpc-listen", value}).ok()) << value;
  }
}

// Listen addresses must be host:port with a port in range.
TEST(ConfigTest, BadListenAddressFails) {
  ExpectBadConfig({"--grpc-listen=1.2.3.4"});
  ExpectBadConfig({"--grpc-listen=:50051"});
  ExpectBadConfig({"--grpc-listen=1.2.3.4:"});
  ExpectBadConfig({"--grpc-listen=1.2.3.4:65536"});
  ExpectBadConfig({"--grpc-listen=1.2.3.4:-1"});
  ExpectBadConfig({"--grpc-listen=1.2.3.4:http"});
  ExpectBadConfig({"--grpc-listen="});
  ExpectBadConfig({"--http-listen=nowhere"});
  ExpectBadConfig({}, {{"TOKEN_GRPC_LISTEN", "1.2.3.4"}});
}

// An idle lifetime longer than the absolute one is an error; equal is fine.
TEST(ConfigTest, IdleLongerThanAbsoluteFails) {
  ExpectBadConfig({"--refresh-idle-ttl=721h"});
  ExpectBadConfig({"--refresh-idle-ttl=2h", "--refresh-absolute-ttl=1h"});
  EXPECT_EQ(ParseConfig({"--refresh-idle-ttl=720h"}).refresh_idle_ttl, absl::Hours(720));
}

// A negative grace window or clock skew is an error; zero is allowed.
TEST(ConfigTest, NegativeGraceFails) {
  ExpectBadConfig({"--reuse-grace=-1s"});
  ExpectBadConfig({"--reuse-grace", "-1s"});
  ExpectBadConfig({}, {{"TOKEN_REUSE_GRACE", "-10s"}});
  ExpectBadConfig({"--clock-skew=-1s"});
  EXPECT_EQ(ParseConfig({"--reuse-grace=0s"}).reuse_grace, absl::ZeroDuration());
}

// Empty issuer or audience, and an audience over 255 bytes, are errors.
TEST(ConfigTest, EmptyIssuerOrAudienceFails) {
  ExpectBadConfig({"--issuer="});
  ExpectBadConfig({"--audience="});
  ExpectBadConfig({"--audience=" + std::string(256, 'a')});
  ExpectBadConfig({"--key-dir="});
}

// A bad boolean value is an error.
TEST(ConfigTest, BadBoolFails) {
  ExpectBadConfig({"--migrate=maybe"});
  ExpectBadConfig({}, {{"TOKEN_MIGRATE", "maybe"}});
  ExpectBadConfig({"--nomigrate=true"});
}

// The first bare word selects migrate, keygen, help or serve.
TEST(ConfigTest, CommandsParse) {
  absl::StatusOr<Invocation> migrate = Parse({"migrate"});
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  EXPECT_EQ(migrate->command, Command::kMigrate);

  absl::StatusOr<Invocation> keygen = Parse({"keygen", "--key-dir", "var/keys"});
  ASSERT_TRUE(keygen.ok()) << keygen.status();
  EXPECT_EQ(keygen->command, Command::kKeygen);
  EXPECT_EQ(keygen->config.key_dir, "var/keys");

  absl::StatusOr<Invocation> keygen_after = Parse({"--key-dir=var/keys", "keygen"});
  ASSERT_TRUE(keygen_after.ok()) << keygen_after.status();
  EXPECT_EQ(keygen_after->command, Command::kKeygen);

  absl::StatusOr<Invocation> help = Parse({"help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->command, Command::kHelp);

  absl::StatusOr<Invocation> serve = Parse({"serve", "--nomigrate"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_EQ(serve->command, Command::kServe);
}

// --help and -h ask for help.
TEST(ConfigTest, HelpFlagSelectsHelp) {
  for (const char* flag : {"--help", "-h"}) {
    absl::StatusOr<Invocation> help = Parse({flag});
    ASSERT_TRUE(help.ok()) << help.status();
    EXPECT_EQ(help->command, Command::kHelp);
  }
}

// --help works even when the environment holds a bad value.
TEST(ConfigTest, HelpIgnoresBadEnvironment) {
  absl::StatusOr<Invocation> help = Parse({"--help"}, {{"TOKEN_ACCESS_TTL", "forever"}});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->command, Command::kHelp);
}

// An unknown command, or a second bare word, is an error.
TEST(ConfigTest, UnknownCommandFails) {
  ExpectBadConfig({"start"});
  ExpectBadConfig({"Migrate"});
  ExpectBadConfig({"migrate", "keygen"});
  ExpectBadConfig({"--migrate", "false"});  // Booleans take no separate value.
}

// The usage text lists every documented flag with its environment variable.
TEST(ConfigTest, UsageTextListsFlagsAndVariables) {
  const std::string usage = UsageText();
  for (const char* name :
       {"grpc-listen", "http-listen", "database-url", "key-dir", "issuer", "audience", "access-ttl",
        "refresh-idle-ttl", "refresh-absolute-ttl", "reuse-grace", "clock-skew", "migrate",
        "tls-cert", "tls-key", "tls-client-ca", "authz-policy", "tls-reload-interval"}) {
    EXPECT_TRUE(absl::StrContains(usage, std::string("--") + name)) << name;
  }
  EXPECT_TRUE(absl::StrContains(usage, "TOKEN_REFRESH_ABSOLUTE_TTL"));
  EXPECT_TRUE(absl::StrContains(usage, "migrate"));
  EXPECT_TRUE(absl::StrContains(usage, "keygen"));
}

// Input limits and the refresh failure limiter are configurable within bounds.
TEST(ConfigTest, LimitFlagsParseAndAreBounded) {
  const ServerConfig c = ParseConfig({"--max-roles=8", "--max-role-bytes=32",
                                      "--max-user-agent-bytes=100", "--max-token-bytes=4096",
                                      "--max-message-bytes=32768", "--max-concurrent-streams=10",
                                      "--refresh-failure-limit=0", "--refresh-failure-window=5m"});
  EXPECT_EQ(c.max_roles, 8);
  EXPECT_EQ(c.max_role_bytes, 32);
  EXPECT_EQ(c.max_user_agent_bytes, 100);
  EXPECT_EQ(c.max_token_bytes, 4096);
  EXPECT_EQ(c.max_message_bytes, 32768);
  EXPECT_EQ(c.max_concurrent_streams, 10);
  EXPECT_EQ(c.refresh_failure_limit, 0);
  EXPECT_EQ(c.refresh_failure_window, absl::Minutes(5));
  const ServerConfig defaults = ParseConfig({});
  EXPECT_EQ(defaults.max_roles, 64);
  EXPECT_EQ(defaults.max_message_bytes, 65536);
  EXPECT_EQ(defaults.refresh_failure_limit, 20);
  ExpectBadConfig({"--max-roles=-1"});
  ExpectBadConfig({"--max-token-bytes=10"});
  ExpectBadConfig({"--max-message-bytes=1"});
  ExpectBadConfig({"--max-concurrent-streams=0"});
  ExpectBadConfig({"--refresh-failure-window=0s"});
}

// The TLS flags form plaintext, TLS, or mTLS with an optional policy; files
// are only checked at start-up, so any path parses here.
TEST(ConfigTest, TlsFlagCombinationsParse) {
  ServerConfig c = ParseConfig({"--tls-cert=/t/c.pem", "--tls-key=/t/k.pem"});
  EXPECT_EQ(c.tls_cert, "/t/c.pem");
  EXPECT_EQ(c.tls_key, "/t/k.pem");
  c = ParseConfig({"--tls-cert=/t/c.pem", "--tls-key=/t/k.pem", "--tls-client-ca=/t/ca.pem",
                   "--authz-policy=/t/policy.json", "--tls-reload-interval=1s"});
  EXPECT_EQ(c.tls_client_ca, "/t/ca.pem");
  EXPECT_EQ(c.authz_policy, "/t/policy.json");
  EXPECT_EQ(c.tls_reload_interval, absl::Seconds(1));
}

// Every TLS flag reads its TOKEN_* variable; the command line wins.
TEST(ConfigTest, TlsFlagsReadEnvironment) {
  const ServerConfig c =
      ParseConfig({"--tls-reload-interval=5s"}, {{"TOKEN_TLS_CERT", "/e/c.pem"},
                                                 {"TOKEN_TLS_KEY", "/e/k.pem"},
                                                 {"TOKEN_TLS_CLIENT_CA", "/e/ca.pem"},
                                                 {"TOKEN_AUTHZ_POLICY", "/e/p.json"},
                                                 {"TOKEN_TLS_RELOAD_INTERVAL", "30s"}});
  EXPECT_EQ(c.tls_cert, "/e/c.pem");
  EXPECT_EQ(c.tls_key, "/e/k.pem");
  EXPECT_EQ(c.tls_client_ca, "/e/ca.pem");
  EXPECT_EQ(c.authz_policy, "/e/p.json");
  EXPECT_EQ(c.tls_reload_interval, absl::Seconds(5));
}

// Incomplete TLS set-ups are refused with a message naming what is missing:
// a policy identifies callers by client certificate, so it needs mTLS.
TEST(ConfigTest, IncompleteTlsConfigFails) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--tls-cert=/c"}, "--tls-cert and --tls-key go together"},
      {{"--tls-key=/k"}, "--tls-cert and --tls-key go together"},
      {{"--tls-client-ca=/ca"}, "--tls-client-ca needs --tls-cert and --tls-key"},
      {{"--authz-policy=/p"}, "--authz-policy needs mTLS"},
      {{"--tls-cert=/c", "--tls-key=/k", "--authz-policy=/p"}, "--authz-policy needs mTLS"},
  };
  for (const auto& [args, message] : cases) {
    absl::StatusOr<Invocation> invocation = Parse(args);
    ASSERT_FALSE(invocation.ok()) << ::testing::PrintToString(args);
    EXPECT_TRUE(absl::StrContains(invocation.status().message(), message))
        << invocation.status().message();
  }
}

// The reload interval is whole seconds between 1 s and 24 h.
TEST(ConfigTest, TlsReloadIntervalIsBounded) {
  ExpectBadConfig({"--tls-reload-interval=0s"});
  ExpectBadConfig({"--tls-reload-interval=500ms"});
  ExpectBadConfig({"--tls-reload-interval=1500ms"});
  ExpectBadConfig({"--tls-reload-interval=25h"});
  ExpectBadConfig({"--tls-reload-interval=soon"});
  EXPECT_EQ(ParseConfig({"--tls-reload-interval=2m"}).tls_reload_interval, absl::Minutes(2));
}

// Both new flags default off and read their TOKEN_* variables.
TEST(ConfigTest, InsecurePlaintextAndGenerateKeysDefaultOff) {
  ServerConfig c = ParseConfig({});
  EXPECT_FALSE(c.insecure_plaintext);
  EXPECT_FALSE(c.generate_keys);
  c = ParseConfig({"--insecure-plaintext", "--generate-keys"});
  EXPECT_TRUE(c.insecure_plaintext);
  EXPECT_TRUE(c.generate_keys);
  c = ParseConfig({}, {{"TOKEN_INSECURE_PLAINTEXT", "true"}, {"TOKEN_GENERATE_KEYS", "true"}});
  EXPECT_TRUE(c.insecure_plaintext);
  EXPECT_TRUE(c.generate_keys);
  EXPECT_TRUE(absl::StrContains(UsageText(), "--insecure-plaintext"));
  EXPECT_TRUE(absl::StrContains(UsageText(), "--generate-keys"));
}

TEST(ConfigTest, LoopbackListenAddresses) {
  for (const char* listen : {"127.0.0.1:1", "127.1.2.3:50051", "localhost:80", "[::1]:8080"}) {
    EXPECT_TRUE(IsLoopbackListen(listen)) << listen;
  }
  for (const char* listen :
       {"0.0.0.0:50051", "[::]:50051", "10.0.0.1:1", "example.com:443", "128.0.0.1:1"}) {
    EXPECT_FALSE(IsLoopbackListen(listen)) << listen;
  }
}

// Plaintext on a non-loopback gRPC or HTTP address is refused unless
// --insecure-plaintext accepts it; TLS (which HTTP then also uses) lifts it.
TEST(ConfigTest, PlaintextOnNonLoopbackNeedsInsecurePlaintext) {
  EXPECT_TRUE(CheckPlaintextListen(ParseConfig({})).ok());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--grpc-listen=0.0.0.0:50051"},
           {"--grpc-listen=[::]:50051"},
           {"--http-listen=0.0.0.0:8080"},
           {"--grpc-listen=10.1.2.3:50051", "--http-listen=10.1.2.3:8080"}}) {
    const absl::Status refused = CheckPlaintextListen(ParseConfig(args));
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << ::testing::PrintToString(args);
    EXPECT_TRUE(absl::StrContains(refused.message(), "--insecure-plaintext")) << refused;
    std::vector<std::string> accepted = args;
    accepted.push_back("--insecure-plaintext");
    EXPECT_TRUE(CheckPlaintextListen(ParseConfig(accepted)).ok())
        << ::testing::PrintToString(accepted);
  }
  EXPECT_TRUE(
      CheckPlaintextListen(ParseConfig({"--grpc-listen=0.0.0.0:50051", "--http-listen=0.0.0.0:8080",
                                        "--tls-cert=/t/c.pem", "--tls-key=/t/k.pem"}))
          .ok());
}

}  // namespace
}  // namespace token
