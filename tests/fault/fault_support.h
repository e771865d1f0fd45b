// Shared pieces of the fault tests (docs/RELIABILITY.md): the short/long
// mode switch, the call log every client writes to, the ledger of session
// families the load has been handed, and the per-scenario report.
#ifndef TOKEN_TESTS_FAULT_FAULT_SUPPORT_H_
#define TOKEN_TESTS_FAULT_FAULT_SUPPORT_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/cpp/error_reason.h"
#include "grpcpp/grpcpp.h"
#include "server/session/refresh_token.h"

namespace token::testing::fault {

// ---------------------------------------------------------------- mode ----

// LongMode is true when TOKEN_FAULT_LONG=1: longer loads, more fault cycles
// and a multi-minute soak (scripts/fault-test.sh long).
bool LongMode();

// Sanitized is true when built with TOKEN_SANITIZE (so is the server under
// test): memory figures are only reported, and latency bounds are wider.
bool Sanitized();

// ShortOrLong picks the value for the current mode.
template <typename T>
T ShortOrLong(T short_mode, T long_mode) {
  return LongMode() ? long_mode : short_mode;
}

// ------------------------------------------------------------ call log ----

enum class CallKind : uint8_t {
  kIssue,       // IssueTokens: a new family.
  kRefresh,     // RefreshTokens with the newest acknowledged token (or its retry).
  kGraceRetry,  // RefreshTokens with the parent on purpose: must give the same successor.
  kReplay,      // RefreshTokens with an older token on purpose: must be REFRESH_TOKEN_REUSED.
  kVerify,      // VerifyAccess with the newest access token.
  kRace,        // RefreshTokens of a token other callers present at the same time.
};
inline constexpr int kCallKinds = 6;
const char* CallKindName(CallKind kind);

// CodeName: "UNAVAILABLE" for grpc::UNAVAILABLE (the client library's names).
inline std::string CodeName(grpc::StatusCode code) {
  return std::string(::token::client::StatusCodeName(code));
}

struct CallRecord {
  int64_t start_us = 0;    // since the log's epoch
  int32_t latency_us = 0;  // wall time of the call
  CallKind kind = CallKind::kIssue;
  grpc::StatusCode code = grpc::OK;
  uint16_t reason = 0;  // index into the log's reason table; 0 is ""
};

// CallLog keeps one compact record per call made (thread-safe).
class CallLog {
 public:
  CallLog();

  absl::Time epoch() const { return epoch_; }
  void Add(CallKind kind, absl::Time start, absl::Time end, const grpc::Status& status,
           const std::string& reason);

  struct Summary {
    int64_t calls = 0;
    int64_t ok = 0;
    // Replays of old tokens made on purpose and refused as they must be
    // (UNAUTHENTICATED): counted here, not among the errors.
    int64_t replays_refused = 0;
    std::map<std::string, int64_t> by_code;    // "UNAVAILABLE" → count (errors only)
    std::map<std::string, int64_t> by_reason;  // "UNAVAILABLE/DATABASE_UNAVAILABLE" → count
    std::map<std::string, int64_t> by_kind;    // "refresh" → count
    absl::Duration p50, p99, max;              // latency of all calls
  };
  // Summary over the calls that started in [from, to).
  Summary Summarize(absl::Time from = absl::InfinitePast(),
                    absl::Time to = absl::InfiniteFuture()) const;
  // Calls that started in [from, to) and ended with a code for which
  // `bad(code, reason)` is true; returns the count.
  int64_t Count(absl::Time from, absl::Time to,
                const std::function<bool(const CallRecord&, const std::string&)>& match) const;
  // Latency quantile (0..1) of the calls matching, or zero when none.
  absl::Duration Quantile(
      double q, absl::Time from, absl::Time to,
      const std::function<bool(const CallRecord&, const std::string&)>& match) const;

 private:
  uint16_t Intern(const std::string& reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Time epoch_;
  mutable absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> reasons_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------- violations ----

// Violations counts invariant violations and keeps the first messages.
class Violations {
 public:
  void Add(std::string message);
  int64_t count() const;
  std::vector<std::string> samples() const;

 private:
  mutable absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> samples_ ABSL_GUARDED_BY(mu_);
};

// -------------------------------------------------------------- tokens ----

// TokenMath derives what the server must answer, from the refresh key the
// server keeps in its key directory: the one successor of a token, and the
// hash the sessions row holds for it.
class TokenMath {
 public:
  static absl::StatusOr<std::unique_ptr<TokenMath>> FromKeyDir(const std::string& key_dir);

  // Successor's wire form, or "" when `token` does not parse.
  std::string Successor(const std::string& token) const;
  // SHA-256 of the token's secret (raw 32 bytes), or "" when it does not parse.
  std::string StoredHash(const std::string& token) const;
  // The session id in the token (canonical UUID text), or "".
  std::string SessionId(const std::string& token) const;

 private:
  explicit TokenMath(std::string key) : chain_(std::move(key)) {}
  RefreshSecretChain chain_;
};

// ------------------------------------------------------------- ledger ----

// Family: what one client knows about one session family.
struct Family {
  std::string subject;
  std::string session_id;
  // The newest acknowledged refresh token and up to two before it (oldest
  // first). Every token the server ever returned for this family is one of
  // these or an ancestor of them.
  std::vector<std::string> recent;
  std::string access_token;  // newest acknowledged
  int64_t generation = 0;    // distinct tokens acknowledged after the first
  // Start of the first call that presented the parent of recent.back(): the
  // server rotated no earlier, so the grace window is open until at least
  // this + grace.
  absl::Time parent_presented = absl::InfinitePast();
  // A refresh of recent.back() ended without an answer: the server may or may
  // not have rotated it. The client retries the same token.
  bool in_doubt = false;
  absl::Time in_doubt_since = absl::InfinitePast();
  // A refresh-type call of this family ended without any answer from the
  // server (a cut connection, the caller's own deadline): a copy of that
  // request may still be queued in the server until its deadline. Until
  // then the client does not move the head on (present its newest token
  // once answered), or that late copy would arrive two generations behind
  // and be judged reuse (docs/RELIABILITY.md, "Lost responses").
  absl::Time quiet_until = absl::InfinitePast();
  // An older token was replayed on purpose: the family must be revoked as reused.
  bool replayed = false;
  bool replay_confirmed = false;  // REFRESH_TOKEN_REUSED / SESSION_REVOKED seen
  // A lost response retried outside the grace window: reuse detected, and
  // legitimately so (the server did rotate). Counted, not a violation.
  bool lost_outside_grace = false;
  // A violation made the family unusable; the checks skip it.
  bool broken = false;

  const std::string& head() const { return recent.back(); }
  bool live() const { return !replayed && !lost_outside_grace && !broken; }
  void Acknowledge(std::string refresh, std::string access, absl::Time presented);
};

// Ledger: every family any client was handed, the call log, and violations.
// Shared by the drivers of a scenario and read by the checks.
class Ledger {
 public:
  explicit Ledger(std::unique_ptr<TokenMath> math) : math_(std::move(math)) {}

  const TokenMath& math() const { return *math_; }
  CallLog& log() { return log_; }
  const CallLog& log() const { return log_; }
  Violations& violations() { return violations_; }
  const Violations& violations() const { return violations_; }

  // Registers a family; the pointer stays valid for the ledger's lifetime.
  // The owning client mutates it without locks while the load runs; readers
  // use Families() only after the drivers have stopped.
  Family* Add(Family family);
  std::vector<Family*> Families() const;

  void CountUnacknowledgedIssue() { unacknowledged_issues_.fetch_add(1); }
  int64_t unacknowledged_issues() const { return unacknowledged_issues_.load(); }

  // Retries of an unanswered refresh that were answered: either the server
  // had rotated (the answer came from the grace window: a lost response
  // recovered) or it had not (the retry rotated).
  void CountInDoubtRetry(bool server_had_rotated) {
    (server_had_rotated ? lost_responses_recovered_ : unanswered_not_applied_).fetch_add(1);
  }
  int64_t lost_responses_recovered() const { return lost_responses_recovered_.load(); }
  void CountQuietWait() { quiet_waits_.fetch_add(1); }
  int64_t quiet_waits() const { return quiet_waits_.load(); }
  int64_t unanswered_not_applied() const { return unanswered_not_applied_.load(); }

 private:
  std::unique_ptr<TokenMath> math_;
  CallLog log_;
  Violations violations_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> unacknowledged_issues_{0};
  std::atomic<int64_t> lost_responses_recovered_{0};
  std::atomic<int64_t> unanswered_not_applied_{0};
  std::atomic<int64_t> quiet_waits_{0};
};

// --------------------------------------------------------------- report ----

// Report: the figures of one scenario. Emit prints them and, when
// TOKEN_FAULT_REPORT names a file, appends them there as one JSON line.
struct Report {
  std::string scenario;
  std::vector<std::pair<std::string, std::string>> figures;

  void Add(const std::string& name, const std::string& value) { figures.emplace_back(name, value); }
  void Add(const std::string& name, int64_t value) { Add(name, std::to_string(value)); }
  void AddSeconds(const std::string& name, absl::Duration value);
  void AddSummary(const CallLog::Summary& summary, const std::string& prefix = "");
  void Emit() const;
};

// -------------------------------------------------------------- process ----

// Resident set size of `pid` in bytes (VmRSS), or -1.
int64_t ResidentBytes(pid_t pid);
// Open file descriptors of `pid`, or -1.
int64_t OpenFds(pid_t pid);

// A fresh database for one scenario, so its checks see only its own rows.
// Returns its conninfo.
std::string CreateScenarioDatabase(const std::string& name);

// Runs `sql` against `conninfo` and returns the rows, each column as text
// (NULL as ""). For checks and fault injection from the test itself.
absl::StatusOr<std::vector<std::vector<std::string>>> QueryRows(const std::string& conninfo,
                                                                const std::string& sql);
// Runs `sql` and returns the single value of the single row.
absl::StatusOr<std::string> QueryValue(const std::string& conninfo, const std::string& sql);

// Open connections of token-server processes to database `dbname`.
absl::StatusOr<int64_t> ServerConnections(const std::string& conninfo, const std::string& dbname);

}  // namespace token::testing::fault

#endif  // TOKEN_TESTS_FAULT_FAULT_SUPPORT_H_
