#include "server/tls/authz_policy.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace token::tls {
namespace {

using Json = nlohmann::json;
using StringMatcher = AuthzPolicy::StringMatcher;

// kMaxPolicyBytes bounds the document (a policy is a few kilobytes).
constexpr size_t kMaxPolicyBytes = 1 << 20;

absl::Status Error(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// CheckKeys rejects members other than `allowed` (a misspelt "principals"
// would otherwise mean "any principal").
absl::Status CheckKeys(const Json& object, const std::string& where,
                       std::initializer_list<absl::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (absl::string_view name : allowed) known = known || key == name;
    if (!known) return Error(where, absl::StrCat("unknown field \"", key, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RequiredString(const Json& object, const std::string& where,
                                           const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return Error(where, absl::StrCat("\"", key, "\" is missing"));
  if (!it->is_string() || it->get<std::string>().empty()) {
    return Error(absl::StrCat(where, ".", key), "must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<StringMatcher> ParseMatcher(const Json& value, const std::string& where) {
  if (!value.is_string()) return Error(where, "must be a string");
  const std::string text = value.get<std::string>();
  if (text.empty()) return Error(where, "must not be empty");
  if (text == "*") return StringMatcher{StringMatcher::Kind::kAny, ""};
  const size_t stars = static_cast<size_t>(std::count(text.begin(), text.end(), '*'));
  if (stars == 1 && text.front() == '*') {
    return StringMatcher{StringMatcher::Kind::kSuffix, text.substr(1)};
  }
  if (stars == 1 && text.back() == '*') {
    return StringMatcher{StringMatcher::Kind::kPrefix, text.substr(0, text.size() - 1)};
  }
  if (stars != 0) return Error(where, "'*' may only stand alone, at the start or at the end");
  return StringMatcher{StringMatcher::Kind::kExact, text};
}

absl::StatusOr<std::vector<StringMatcher>> ParseMatcherList(const Json& object,
                                                            const std::string& where,
                                                            const char* key) {
  std::vector<StringMatcher> out;
  auto it = object.find(key);
  if (it == object.end()) return out;
  const std::string list_where = absl::StrCat(where, ".", key);
  if (!it->is_array()) return Error(list_where, "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    absl::StatusOr<StringMatcher> matcher =
        ParseMatcher((*it)[i], absl::StrCat(list_where, "[", i, "]"));
    if (!matcher.ok()) return matcher.status();
    out.push_back(*std::move(matcher));
  }
  return out;
}

absl::StatusOr<AuthzPolicy::HeaderRule> ParseHeader(const Json& json, const std::string& where) {
  if (!json.is_object()) return Error(where, "must be an object");
  if (absl::Status s = CheckKeys(json, where, {"key", "values"}); !s.ok()) return s;
  absl::StatusOr<std::string> key = RequiredString(json, where, "key");
  if (!key.ok()) return key.status();
  const std::string lower = absl::AsciiStrToLower(*key);
  // As gRPC: pseudo-headers, grpc-* and host are not policy material.
  if (absl::StartsWith(lower, ":") || absl::StartsWith(lower, "grpc-") || lower == "host") {
    return Error(absl::StrCat(where, ".key"), absl::StrCat("unsupported header \"", *key, "\""));
  }
  auto values = json.find("values");
  if (values == json.end() || !values->is_array() || values->empty()) {
    return Error(absl::StrCat(where, ".values"), "must be a non-empty array");
  }
  absl::StatusOr<std::vector<StringMatcher>> matchers = ParseMatcherList(json, where, "values");
  if (!matchers.ok()) return matchers.status();
  return AuthzPolicy::HeaderRule{lower, *std::move(matchers)};
}

absl::StatusOr<AuthzPolicy::Rule> ParseRule(const Json& json, const std::string& where) {
  if (!json.is_object()) return Error(where, "must be an object");
  if (absl::Status s = CheckKeys(json, where, {"name", "source", "request"}); !s.ok()) return s;
  AuthzPolicy::Rule rule;
  absl::StatusOr<std::string> name = RequiredString(json, where, "name");
  if (!name.ok()) return name.status();
  rule.name = *std::move(name);
  if (auto source = json.find("source"); source != json.end()) {
    const std::string source_where = absl::StrCat(where, ".source");
    if (!source->is_object()) return Error(source_where, "must be an object");
    if (absl::Status s = CheckKeys(*source, source_where, {"principals"}); !s.ok()) return s;
    absl::StatusOr<std::vector<StringMatcher>> principals =
        ParseMatcherList(*source, source_where, "principals");
    if (!principals.ok()) return principals.status();
    rule.principals = *std::move(principals);
  }
  if (auto request = json.find("request"); request != json.end()) {
    const std::string request_where = absl::StrCat(where, ".request");
    if (!request->is_object()) return Error(request_where, "must be an object");
    if (absl::Status s = CheckKeys(*request, request_where, {"paths", "headers"}); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::vector<StringMatcher>> paths =
        ParseMatcherList(*request, request_where, "paths");
    if (!paths.ok()) return paths.status();
    rule.paths = *std::move(paths);
    if (auto headers = request->find("headers"); headers != request->end()) {
      const std::string headers_where = absl::StrCat(request_where, ".headers");
      if (!headers->is_array()) return Error(headers_where, "must be an array");
      for (size_t i = 0; i < headers->size(); ++i) {
        absl::StatusOr<AuthzPolicy::HeaderRule> header =
            ParseHeader((*headers)[i], absl::StrCat(headers_where, "[", i, "]"));
        if (!header.ok()) return header.status();
        rule.headers.push_back(*std::move(header));
      }
    }
  }
  return rule;
}

absl::StatusOr<std::vector<AuthzPolicy::Rule>> ParseRules(const Json& policy, const char* key,
                                                          bool required) {
  std::vector<AuthzPolicy::Rule> rules;
  auto it = policy.find(key);
  if (it == policy.end()) {
    if (required) return Error("policy", absl::StrCat("\"", key, "\" is missing"));
    return rules;
  }
  if (!it->is_array()) return Error(key, "must be an array");
  std::set<std::string> names;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = absl::StrCat(key, "[", i, "]");
    absl::StatusOr<AuthzPolicy::Rule> rule = ParseRule((*it)[i], where);
    if (!rule.ok()) return rule.status();
    if (!names.insert(rule->name).second) {
      return Error(where, absl::StrCat("duplicate rule name \"", rule->name, "\""));
    }
    rules.push_back(*std::move(rule));
  }
  return rules;
}

bool AnyMatches(const std::vector<StringMatcher>& matchers, absl::string_view value) {
  for (const StringMatcher& matcher : matchers) {
    if (matcher.Matches(value)) return true;
  }
  return false;
}

bool PrincipalMatches(const StringMatcher& principal, const PeerIdentity& peer) {
  if (!peer.authenticated) return false;
  if (principal.kind == StringMatcher::Kind::kAny) return true;
  for (const std::string& uri : peer.uri_sans) {
    if (principal.Matches(uri)) return true;
  }
  for (const std::string& dns : peer.dns_sans) {
    if (principal.Matches(dns)) return true;
  }
  return !peer.subject.empty() && principal.Matches(peer.subject);
}

}  // namespace

bool AuthzPolicy::StringMatcher::Matches(absl::string_view value) const {
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kPrefix:
      return absl::StartsWith(value, text);
    case Kind::kSuffix:
      return absl::EndsWith(value, text);
    case Kind::kExact:
      return value == text;
  }
  return false;
}

absl::StatusOr<AuthzPolicyPtr> AuthzPolicy::Parse(absl::string_view json_text) {
  if (json_text.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("larger than ", kMaxPolicyBytes, " bytes"));
  }
  Json json;
  try {
    json = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::parse_error& e) {
    // The message gives line and column; a policy holds no secrets.
    return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", e.what()));
  }
  if (!json.is_object()) return absl::InvalidArgumentError("the policy must be a JSON object");
  if (absl::Status s = CheckKeys(json, "policy", {"name", "deny_rules", "allow_rules"}); !s.ok()) {
    return s;
  }
  std::shared_ptr<AuthzPolicy> policy(new AuthzPolicy());
  absl::StatusOr<std::string> name = RequiredString(json, "policy", "name");
  if (!name.ok()) return name.status();
  policy->name_ = *std::move(name);
  absl::StatusOr<std::vector<Rule>> deny = ParseRules(json, "deny_rules", /*required=*/false);
  if (!deny.ok()) return deny.status();
  absl::StatusOr<std::vector<Rule>> allow = ParseRules(json, "allow_rules", /*required=*/true);
  if (!allow.ok()) return allow.status();
  policy->deny_rules_ = *std::move(deny);
  policy->allow_rules_ = *std::move(allow);
  return policy;
}

bool AuthzPolicy::RuleMatches(const Rule& rule, const PeerIdentity& peer, absl::string_view path,
                              const HeaderLookup& headers) {
  if (!rule.principals.empty()) {
    bool any = false;
    for (const StringMatcher& principal : rule.principals) {
      any = any || PrincipalMatches(principal, peer);
    }
    if (!any) return false;
  }
  if (!rule.paths.empty() && !AnyMatches(rule.paths, path)) return false;
  for (const HeaderRule& header : rule.headers) {
    const std::optional<std::string> value = headers ? headers(header.key) : std::nullopt;
    if (!value.has_value() || !AnyMatches(header.values, *value)) return false;
  }
  return true;
}

AuthzPolicy::Decision AuthzPolicy::Evaluate(const PeerIdentity& peer, absl::string_view path,
                                            const HeaderLookup& headers) const {
  for (const Rule& rule : deny_rules_) {
    if (RuleMatches(rule, peer, path, headers)) return {false, "deny_rules/" + rule.name};
  }
  for (const Rule& rule : allow_rules_) {
    if (RuleMatches(rule, peer, path, headers)) return {true, "allow_rules/" + rule.name};
  }
  return {false, ""};
}

}  // namespace token::tls
