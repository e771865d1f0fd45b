// AuthzPolicy: gRPC's SDK authorization policy format, parsed strictly and
// evaluated as gRPC does (deny rules first, then allow rules, else deny).
#include "server/tls/authz_policy.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace token::tls {
namespace {

using ::testing::HasSubstr;

constexpr char kIssue[] = "/token.v1.TokenService/IssueTokens";
constexpr char kRefresh[] = "/token.v1.TokenService/RefreshTokens";
constexpr char kVerify[] = "/token.v1.TokenService/VerifyAccess";
constexpr char kRevokeAll[] = "/token.v1.TokenService/RevokeAll";
constexpr char kRevokeSession[] = "/token.v1.TokenService/RevokeSession";
constexpr char kList[] = "/token.v1.TokenService/ListSessions";
constexpr char kHealth[] = "/grpc.health.v1.Health/Check";
constexpr char kReflection[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

PeerIdentity Spiffe(const std::string& id) {
  return {.authenticated = true, .uri_sans = {id}, .dns_sans = {}, .subject = "CN=x"};
}

AuthzPolicyPtr ParseOrDie(const std::string& json) {
  absl::StatusOr<AuthzPolicyPtr> policy = AuthzPolicy::Parse(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

bool Allowed(const AuthzPolicy& policy, const PeerIdentity& peer, const std::string& path,
             const HeaderLookup& headers = nullptr) {
  return policy.Evaluate(peer, path, headers).allowed;
}

std::string ExamplePolicy() {
  std::ifstream in(std::string(TOKEN_SOURCE_DIR) + "/docs/examples/authz-policy.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The documented example grants exactly docs/TLS.md's split: login
// service issues, gateways refresh and verify, the admin tool revokes and
// lists, every client certificate may probe health and use reflection.
TEST(AuthzPolicyTest, ExamplePolicyMatchesSpec) {
  const AuthzPolicyPtr policy = ParseOrDie(ExamplePolicy());
  ASSERT_NE(policy, nullptr);
  const PeerIdentity login = Spiffe("spiffe://token.internal/login-service");
  const PeerIdentity gateway = Spiffe("spiffe://token.internal/gateway");
  const PeerIdentity admin = Spiffe("spiffe://token.internal/admin");
  const PeerIdentity unknown = Spiffe("spiffe://token.internal/unknown");
  const std::vector<std::string> all = {kIssue,     kRefresh,       kVerify,
                                        kRevokeAll, kRevokeSession, kList};
  const std::vector<std::pair<PeerIdentity, std::vector<std::string>>> grants = {
      {login, {kIssue}},
      {gateway, {kRefresh, kVerify}},
      {admin, {kRevokeAll, kRevokeSession, kList}},
      {unknown, {}},
  };
  for (const auto& [peer, allowed] : grants) {
    for (const std::string& path : all) {
      const bool expected = std::find(allowed.begin(), allowed.end(), path) != allowed.end();
      EXPECT_EQ(Allowed(*policy, peer, path), expected) << peer.uri_sans[0] << " " << path;
    }
    EXPECT_TRUE(Allowed(*policy, peer, kHealth)) << peer.uri_sans[0];
    EXPECT_TRUE(Allowed(*policy, peer, kReflection)) << peer.uri_sans[0];
  }
  // Without a verified client certificate nothing is allowed, not even health.
  EXPECT_FALSE(Allowed(*policy, PeerIdentity{}, kHealth));
  EXPECT_FALSE(Allowed(*policy, PeerIdentity{}, kIssue));
}

// Deny rules win over allow rules; the deciding rule is reported.
TEST(AuthzPolicyTest, DenyRulesWin) {
  const AuthzPolicyPtr policy = ParseOrDie(R"({
    "name": "p",
    "deny_rules": [{"name": "no-revoke", "request": {"paths": ["*/RevokeAll"]}}],
    "allow_rules": [{"name": "all", "source": {"principals": ["*"]}}]})");
  const AuthzPolicy::Decision denied = policy->Evaluate(Spiffe("spiffe://a"), kRevokeAll, nullptr);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.rule, "deny_rules/no-revoke");
  const AuthzPolicy::Decision allowed = policy->Evaluate(Spiffe("spiffe://a"), kIssue, nullptr);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule, "allow_rules/all");
}

// Nothing matching means denied, with no rule named.
TEST(AuthzPolicyTest, NoMatchDenies) {
  const AuthzPolicyPtr policy = ParseOrDie(R"({"name": "p", "allow_rules": []})");
  const AuthzPolicy::Decision d = policy->Evaluate(Spiffe("spiffe://a"), kIssue, nullptr);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "");
}

// Principals match any URI SAN, then any DNS SAN, then the subject.
TEST(AuthzPolicyTest, PrincipalsMatchUriThenDnsThenSubject) {
  const AuthzPolicyPtr policy = ParseOrDie(R"({"name": "p", "allow_rules": [
    {"name": "r", "source": {"principals": ["spiffe://td/svc", "gw.internal", "CN=admin,O=ops"]}}]})");
  PeerIdentity peer{.authenticated = true,
                    .uri_sans = {"https://other", "spiffe://td/svc"},
                    .dns_sans = {},
                    .subject = "CN=nobody"};
  EXPECT_TRUE(Allowed(*policy, peer, kIssue));
  peer = {.authenticated = true, .uri_sans = {}, .dns_sans = {"x", "gw.internal"}, .subject = ""};
  EXPECT_TRUE(Allowed(*policy, peer, kIssue));
  peer = {.authenticated = true, .uri_sans = {}, .dns_sans = {}, .subject = "CN=admin,O=ops"};
  EXPECT_TRUE(Allowed(*policy, peer, kIssue));
  peer = {.authenticated = true,
          .uri_sans = {"spiffe://td/svc2"},
          .dns_sans = {"gw"},
          .subject = "CN=admin"};
  EXPECT_FALSE(Allowed(*policy, peer, kIssue));
  // The same names without a verified certificate do not count.
  peer = {.authenticated = false, .uri_sans = {"spiffe://td/svc"}, .dns_sans = {}, .subject = ""};
  EXPECT_FALSE(Allowed(*policy, peer, kIssue));
}

// Prefix and suffix patterns; "*" alone means "any verified certificate".
TEST(AuthzPolicyTest, WildcardsArePrefixSuffixOrAny) {
  const AuthzPolicyPtr policy = ParseOrDie(R"({"name": "p", "allow_rules": [
    {"name": "prefix", "source": {"principals": ["spiffe://token.internal/gateway-*"]},
     "request": {"paths": ["/token.v1.TokenService/*"]}},
    {"name": "suffix", "source": {"principals": ["*.ops.internal"]},
     "request": {"paths": ["*/ListSessions"]}}]})");
  EXPECT_TRUE(Allowed(*policy, Spiffe("spiffe://token.internal/gateway-eu"), kVerify));
  EXPECT_FALSE(Allowed(*policy, Spiffe("spiffe://token.internal/gateway"), kVerify));
  EXPECT_FALSE(Allowed(*policy, Spiffe("spiffe://token.internal/gateway-eu"), kHealth));
  const PeerIdentity ops{
      .authenticated = true, .uri_sans = {}, .dns_sans = {"a.ops.internal"}, .subject = ""};
  EXPECT_TRUE(Allowed(*policy, ops, kList));
  EXPECT_FALSE(Allowed(*policy, ops, kRevokeAll));
}

// A rule without a source matches every caller, authenticated or not.
TEST(AuthzPolicyTest, RuleWithoutSourceMatchesAnyCaller) {
  const AuthzPolicyPtr policy = ParseOrDie(
      R"({"name": "p", "allow_rules": [{"name": "h", "request": {"paths": ["/grpc.health.v1.Health/*"]}}]})");
  EXPECT_TRUE(Allowed(*policy, PeerIdentity{}, kHealth));
  EXPECT_FALSE(Allowed(*policy, PeerIdentity{}, kIssue));
}

// Header rules: every entry must match one of its values.
TEST(AuthzPolicyTest, HeadersMustAllMatch) {
  const AuthzPolicyPtr policy = ParseOrDie(R"({"name": "p", "allow_rules": [
    {"name": "r", "request": {"headers": [{"key": "X-Env", "values": ["prod", "stage*"]},
                                          {"key": "x-team", "values": ["*"]}]}}]})");
  auto headers = [](std::map<std::string, std::string> h) -> HeaderLookup {
    return [h](absl::string_view key) -> std::optional<std::string> {
      auto it = h.find(std::string(key));
      if (it == h.end()) return std::nullopt;
      return it->second;
    };
  };
  EXPECT_TRUE(
      Allowed(*policy, PeerIdentity{}, kIssue, headers({{"x-env", "stage-eu"}, {"x-team", "id"}})));
  EXPECT_FALSE(Allowed(*policy, PeerIdentity{}, kIssue, headers({{"x-env", "stage-eu"}})));
  EXPECT_FALSE(
      Allowed(*policy, PeerIdentity{}, kIssue, headers({{"x-env", "dev"}, {"x-team", "id"}})));
}

// Mistakes that could widen access are errors, located by rule and field.
TEST(AuthzPolicyTest, MalformedPoliciesFailWithLocation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"allow_rules": []})", "\"name\" is missing"},
      {R"({"name": "p"})", "\"allow_rules\" is missing"},
      {R"({"name": "p", "allow_rules": [], "allow_rule": []})", "unknown field \"allow_rule\""},
      {R"({"name": "p", "allow_rules": {}})", "allow_rules: must be an array"},
      {R"({"name": "p", "allow_rules": [{"source": {}}]})", "allow_rules[0]: \"name\" is missing"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "source": {"principal": ["x"]}}]})",
       "allow_rules[0].source: unknown field \"principal\""},
      {R"({"name": "p", "allow_rules": [{"name": "a", "source": {"principals": [""]}}]})",
       "allow_rules[0].source.principals[0]: must not be empty"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "source": {"principals": ["a*b"]}}]})",
       "may only stand alone"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "source": {"principals": [1]}}]})",
       "must be a string"},
      {R"({"name": "p", "allow_rules": [{"name": "a"}, {"name": "a"}]})",
       "allow_rules[1]: duplicate rule name"},
      {R"({"name": "p", "deny_rules": [{"name": "a", "request": {"headers": [{"key": ":path", "values": ["x"]}]}}], "allow_rules": []})",
       "deny_rules[0].request.headers[0].key: unsupported header"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"key": "grpc-timeout", "values": ["x"]}]}}]})",
       "unsupported header"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "request": {"headers": [{"key": "x", "values": []}]}}]})",
       "values: must be a non-empty array"},
      {R"({"name": "p", "allow_rules": [{"name": "a", "request": {"method": "x"}}]})",
       "unknown field \"method\""},
  };
  for (const auto& [json, message] : cases) {
    absl::StatusOr<AuthzPolicyPtr> policy = AuthzPolicy::Parse(json);
    ASSERT_FALSE(policy.ok()) << json;
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(policy.status().message(), HasSubstr(message)) << json;
  }
}

}  // namespace
}  // namespace token::tls
