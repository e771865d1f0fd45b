// AuthzPolicy: per-RPC authorization by client-certificate identity, written
// in gRPC's SDK authorization policy format (gRFC A43, the JSON that
// grpc::experimental::FileWatcherAuthorizationPolicyProvider reads), so one
// policy file works with either.
//
// Why our own evaluator: Debian 12's gRPC 1.51 packages install
// grpcpp/security/authorization_policy_provider.h but not the library that
// implements it (the policy providers and their JSON-to-RBAC translator are
// missing from libgrpc.so.29 and libgrpc++.so.1.51), so a program that calls
// the providers does not link. This file implements the same document format
// and the same matching rules; AuthzEnforcer applies it to every RPC through
// gRPC's AuthMetadataProcessor hook, before any handler runs.
//
// Format:
//   {"name": "...",
//    "deny_rules":  [rule, ...],          optional
//    "allow_rules": [rule, ...]}          required
//   rule: {"name": "...",                 required, unique in its list
//          "source":  {"principals": ["spiffe://td/svc", "*", ...]},
//          "request": {"paths": ["/pkg.Service/Method", "/pkg.Service/*"],
//                      "headers": [{"key": "x-k", "values": ["v", "v*"]}]}}
// Evaluation: a call matching any deny rule is denied; else one matching any
// allow rule is allowed; else denied. A rule matches when its source and its
// request both match. Within a rule: one of the principals, one of the paths,
// and every header entry (one of its values) must match; an absent or empty
// list matches anything.
// Strings: "*" matches anything present; "abc*" is a prefix, "*abc" a suffix,
// anything else exact.
// Principals: a principal only matches a caller that presented a verified
// client certificate over TLS ("*" = any such caller). It is compared with
// each URI SAN, then each DNS SAN, then the subject DN (RFC 2253 form), as
// gRPC's matcher does.
//
// Stricter than gRPC (a typo must not silently widen access): unknown fields
// are errors, strings may not be empty, and '*' may only stand alone or at
// one end.
#ifndef TOKEN_SERVER_TLS_AUTHZ_POLICY_H_
#define TOKEN_SERVER_TLS_AUTHZ_POLICY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace token::tls {

// PeerIdentity is what the transport proved about a caller.
struct PeerIdentity {
  // authenticated: TLS with a client certificate that verified.
  bool authenticated = false;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::string subject;
};

// HeaderLookup returns a request header's values joined with ",", or
// nullopt when the call does not carry it. Keys are lower case.
using HeaderLookup = std::function<std::optional<std::string>(absl::string_view key)>;

class AuthzPolicy;
using AuthzPolicyPtr = std::shared_ptr<const AuthzPolicy>;

// AuthzPolicy is immutable once parsed; evaluate it from any thread.
//
// Usage:
//   absl::StatusOr<AuthzPolicyPtr> policy = AuthzPolicy::Parse(json_text);
//   AuthzPolicy::Decision d = (*policy)->Evaluate(peer, "/token.v1.TokenService/IssueTokens",
//                                                 headers);
class AuthzPolicy {
 public:
  // Decision says whether a call may proceed and which rule decided.
  struct Decision {
    bool allowed = false;
    // rule: "deny_rules/<name>", "allow_rules/<name>", or "" when no rule
    // matched (denied by default).
    std::string rule;
  };

  // Parse reads a policy document. Errors say where (rule index and field),
  // e.g. "allow_rules[2].source.principals[0]: must not be empty".
  [[nodiscard]] static absl::StatusOr<AuthzPolicyPtr> Parse(absl::string_view json_text);

  // Evaluate decides one call to `path` ("/package.Service/Method").
  Decision Evaluate(const PeerIdentity& peer, absl::string_view path,
                    const HeaderLookup& headers) const;

  const std::string& name() const { return name_; }

  // StringMatcher is one "*", "abc*", "*abc" or exact pattern.
  struct StringMatcher {
    enum class Kind { kAny, kPrefix, kSuffix, kExact };
    Kind kind = Kind::kExact;
    std::string text;
    bool Matches(absl::string_view value) const;
  };
  struct HeaderRule {
    std::string key;
    std::vector<StringMatcher> values;  // One of.
  };
  struct Rule {
    std::string name;
    std::vector<StringMatcher> principals;  // One of; empty = any peer.
    std::vector<StringMatcher> paths;       // One of; empty = any path.
    std::vector<HeaderRule> headers;        // All of.
  };

 private:
  AuthzPolicy() = default;
  static bool RuleMatches(const Rule& rule, const PeerIdentity& peer, absl::string_view path,
                          const HeaderLookup& headers);

  std::string name_;
  std::vector<Rule> deny_rules_;
  std::vector<Rule> allow_rules_;
};

}  // namespace token::tls

#endif  // TOKEN_SERVER_TLS_AUTHZ_POLICY_H_
