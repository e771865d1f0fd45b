#include "tests/fault/fault_support.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "pqxx/pqxx"
#include "server/common/random.h"
#include "server/keys/key_directory.h"
#include "tests/harness/postgres_fixture.h"

namespace token::testing::fault {

bool LongMode() {
  const char* value = std::getenv("TOKEN_FAULT_LONG");
  return value != nullptr && std::string(value) == "1";
}

bool Sanitized() {
#ifdef TOKEN_FAULT_SANITIZED
  return true;
#else
  return false;
#endif
}

const char* CallKindName(CallKind kind) {
  switch (kind) {
    case CallKind::kIssue:
      return "issue";
    case CallKind::kRefresh:
      return "refresh";
    case CallKind::kGraceRetry:
      return "grace_retry";
    case CallKind::kReplay:
      return "replay";
    case CallKind::kVerify:
      return "verify";
    case CallKind::kRace:
      return "race_refresh";
  }
  return "?";
}

// ------------------------------------------------------------ call log ----

CallLog::CallLog() : epoch_(absl::Now()) {
  absl::MutexLock lock(&mu_);
  reasons_.push_back("");
}

uint16_t CallLog::Intern(const std::string& reason) {
  for (size_t i = 0; i < reasons_.size(); ++i) {
    if (reasons_[i] == reason) return static_cast<uint16_t>(i);
  }
  reasons_.push_back(reason);
  return static_cast<uint16_t>(reasons_.size() - 1);
}

void CallLog::Add(CallKind kind, absl::Time start, absl::Time end, const grpc::Status& status,
                  const std::string& reason) {
  CallRecord record;
  record.start_us = absl::ToInt64Microseconds(start - epoch_);
  record.latency_us =
      static_cast<int32_t>(std::min<int64_t>(absl::ToInt64Microseconds(end - start), INT32_MAX));
  record.kind = kind;
  record.code = status.error_code();
  absl::MutexLock lock(&mu_);
  record.reason = Intern(reason);
  records_.push_back(record);
}

CallLog::Summary CallLog::Summarize(absl::Time from, absl::Time to) const {
  Summary out;
  std::vector<int32_t> latencies;
  absl::MutexLock lock(&mu_);
  const int64_t from_us =
      from == absl::InfinitePast() ? INT64_MIN : absl::ToInt64Microseconds(from - epoch_);
  const int64_t to_us =
      to == absl::InfiniteFuture() ? INT64_MAX : absl::ToInt64Microseconds(to - epoch_);
  for (const CallRecord& r : records_) {
    if (r.start_us < from_us || r.start_us >= to_us) continue;
    ++out.calls;
    ++out.by_kind[CallKindName(r.kind)];
    latencies.push_back(r.latency_us);
    if (r.code == grpc::OK) {
      ++out.ok;
      continue;
    }
    if (r.kind == CallKind::kReplay && r.code == grpc::UNAUTHENTICATED) {
      ++out.replays_refused;
      continue;
    }
    ++out.by_code[CodeName(r.code)];
    const std::string& reason = reasons_[r.reason];
    ++out.by_reason[absl::StrCat(CodeName(r.code), "/", reason.empty() ? "-" : reason)];
  }
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto at = [&](double q) {
      const size_t i = std::min(latencies.size() - 1, static_cast<size_t>(q * latencies.size()));
      return absl::Microseconds(latencies[i]);
    };
    out.p50 = at(0.5);
    out.p99 = at(0.99);
    out.max = absl::Microseconds(latencies.back());
  }
  return out;
}

int64_t CallLog::Count(
    absl::Time from, absl::Time to,
    const std::function<bool(const CallRecord&, const std::string&)>& match) const {
  absl::MutexLock lock(&mu_);
  const int64_t from_us = absl::ToInt64Microseconds(from - epoch_);
  const int64_t to_us = absl::ToInt64Microseconds(to - epoch_);
  int64_t n = 0;
  for (const CallRecord& r : records_) {
    if (r.start_us < from_us || r.start_us >= to_us) continue;
    if (match(r, reasons_[r.reason])) ++n;
  }
  return n;
}

absl::Duration CallLog::Quantile(
    double q, absl::Time from, absl::Time to,
    const std::function<bool(const CallRecord&, const std::string&)>& match) const {
  std::vector<int32_t> latencies;
  {
    absl::MutexLock lock(&mu_);
    const int64_t from_us = absl::ToInt64Microseconds(from - epoch_);
    const int64_t to_us = absl::ToInt64Microseconds(to - epoch_);
    for (const CallRecord& r : records_) {
      if (r.start_us < from_us || r.start_us >= to_us) continue;
      if (match(r, reasons_[r.reason])) latencies.push_back(r.latency_us);
    }
  }
  if (latencies.empty()) return absl::ZeroDuration();
  std::sort(latencies.begin(), latencies.end());
  const size_t i = std::min(latencies.size() - 1, static_cast<size_t>(q * latencies.size()));
  return absl::Microseconds(latencies[i]);
}

// ---------------------------------------------------------- violations ----

void Violations::Add(std::string message) {
  absl::MutexLock lock(&mu_);
  ++count_;
  if (samples_.size() < 20) samples_.push_back(std::move(message));
}

int64_t Violations::count() const {
  absl::MutexLock lock(&mu_);
  return count_;
}

std::vector<std::string> Violations::samples() const {
  absl::MutexLock lock(&mu_);
  return samples_;
}

// -------------------------------------------------------------- tokens ----

absl::StatusOr<std::unique_ptr<TokenMath>> TokenMath::FromKeyDir(const std::string& key_dir) {
  absl::StatusOr<std::string> key = LoadRefreshSecret(key_dir, /*create_if_missing=*/false);
  if (!key.ok()) return key.status();
  return std::unique_ptr<TokenMath>(new TokenMath(*std::move(key)));
}

std::string TokenMath::Successor(const std::string& token) const {
  std::optional<RefreshToken> parsed = ParseRefreshToken(token);
  if (!parsed.has_value()) return "";
  return FormatRefreshToken(chain_.Successor(*parsed));
}

std::string TokenMath::StoredHash(const std::string& token) const {
  std::optional<RefreshToken> parsed = ParseRefreshToken(token);
  if (!parsed.has_value()) return "";
  return RefreshSecretChain::StoredHash(*parsed);
}

std::string TokenMath::SessionId(const std::string& token) const {
  std::optional<RefreshToken> parsed = ParseRefreshToken(token);
  if (!parsed.has_value()) return "";
  return UuidToString(parsed->session_id);
}

// ------------------------------------------------------------- ledger ----

void Family::Acknowledge(std::string refresh, std::string access, absl::Time presented) {
  recent.push_back(std::move(refresh));
  if (recent.size() > 3) recent.erase(recent.begin());
  access_token = std::move(access);
  ++generation;
  parent_presented = presented;
  in_doubt = false;
  in_doubt_since = absl::InfinitePast();
}

Family* Ledger::Add(Family family) {
  absl::MutexLock lock(&mu_);
  families_.push_back(std::make_unique<Family>(std::move(family)));
  return families_.back().get();
}

std::vector<Family*> Ledger::Families() const {
  absl::MutexLock lock(&mu_);
  std::vector<Family*> out;
  out.reserve(families_.size());
  for (const auto& f : families_) out.push_back(f.get());
  return out;
}

// --------------------------------------------------------------- report ----

void Report::AddSeconds(const std::string& name, absl::Duration value) {
  Add(name, absl::StrFormat("%.3f", absl::ToDoubleSeconds(value)));
}

void Report::AddSummary(const CallLog::Summary& summary, const std::string& prefix) {
  Add(prefix + "calls", summary.calls);
  Add(prefix + "ok", summary.ok);
  Add(prefix + "deliberate_replays_refused", summary.replays_refused);
  std::vector<std::string> codes;
  for (const auto& [code, n] : summary.by_code) codes.push_back(absl::StrCat(code, "=", n));
  Add(prefix + "errors_by_code", codes.empty() ? "none" : absl::StrJoin(codes, " "));
  std::vector<std::string> reasons;
  for (const auto& [reason, n] : summary.by_reason) {
    reasons.push_back(absl::StrCat(reason, "=", n));
  }
  Add(prefix + "errors_by_reason", reasons.empty() ? "none" : absl::StrJoin(reasons, " "));
  std::vector<std::string> kinds;
  for (const auto& [kind, n] : summary.by_kind) kinds.push_back(absl::StrCat(kind, "=", n));
  Add(prefix + "calls_by_kind", absl::StrJoin(kinds, " "));
  AddSeconds(prefix + "latency_p50_s", summary.p50);
  AddSeconds(prefix + "latency_p99_s", summary.p99);
  AddSeconds(prefix + "latency_max_s", summary.max);
}

namespace {

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Report::Emit() const {
  std::ostringstream text;
  text << "\n[fault] ===== " << scenario << " (" << (LongMode() ? "long" : "short") << " mode"
       << (Sanitized() ? ", sanitized build" : "") << ") =====\n";
  for (const auto& [name, value] : figures) text << "[fault]   " << name << ": " << value << "\n";
  std::cout << text.str() << std::flush;

  const char* path = std::getenv("TOKEN_FAULT_REPORT");
  if (path == nullptr || *path == '\0') return;
  std::string line = absl::StrCat("{\"scenario\":\"", JsonEscape(scenario), "\",\"mode\":\"",
                                  LongMode() ? "long" : "short", "\"");
  for (const auto& [name, value] : figures) {
    absl::StrAppend(&line, ",\"", JsonEscape(name), "\":\"", JsonEscape(value), "\"");
  }
  line += "}\n";
  std::ofstream out(path, std::ios::app);
  out << line;
}

// -------------------------------------------------------------- process ----

int64_t ResidentBytes(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int64_t kb = -1;
    fields >> kb;
    return kb < 0 ? -1 : kb * 1024;
  }
  return -1;
}

int64_t OpenFds(pid_t pid) {
  const std::string dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

std::string CreateScenarioDatabase(const std::string& name) {
  const PostgresServer& pg = PostgresEnvironment::Get();
  absl::Status created = pg.CreateDatabase(name);
  if (!created.ok()) {
    std::cerr << "[fault] CREATE DATABASE " << name << ": " << created << "\n";
  }
  return pg.conninfo(name);
}

absl::StatusOr<std::vector<std::vector<std::string>>> QueryRows(const std::string& conninfo,
                                                                const std::string& sql) {
  try {
    pqxx::connection conn(conninfo + " application_name=fault-test connect_timeout=5");
    pqxx::nontransaction tx(conn);
    pqxx::result result = tx.exec(sql);
    std::vector<std::vector<std::string>> rows;
    rows.reserve(result.size());
    for (const auto& row : result) {
      std::vector<std::string> cells;
      for (const auto& field : row) cells.push_back(field.is_null() ? "" : field.c_str());
      rows.push_back(std::move(cells));
    }
    return rows;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("query failed: ", e.what()));
  }
}

absl::StatusOr<std::string> QueryValue(const std::string& conninfo, const std::string& sql) {
  absl::StatusOr<std::vector<std::vector<std::string>>> rows = QueryRows(conninfo, sql);
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1 || (*rows)[0].size() != 1) {
    return absl::InternalError(absl::StrCat("expected one value from: ", sql));
  }
  return (*rows)[0][0];
}

absl::StatusOr<int64_t> ServerConnections(const std::string& conninfo, const std::string& dbname) {
  absl::StatusOr<std::string> value =
      QueryValue(conninfo, absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = '",
                                        dbname, "' AND application_name LIKE 'token-server%'"));
  if (!value.ok()) return value.status();
  int64_t n = 0;
  if (!absl::SimpleAtoi(*value, &n)) return absl::InternalError("not a number: " + *value);
  return n;
}

}  // namespace token::testing::fault
