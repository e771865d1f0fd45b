// LoadDriver: a bounded mixed load against one or more token-server
// replicas, modelling clients that each hold a session family.
//
// Each client thread loops: refresh its newest acknowledged token (mostly),
// verify the newest access token, retry the parent token on purpose (a grace
// retry: must return the identical successor), replay an older token on
// purpose (must be REFRESH_TOKEN_REUSED), or log in again (a new family).
// A refresh that ends without an answer (UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED) leaves the family "in doubt": the server may or may not
// have rotated, so the client presents the same token again until it gets an
// answer. Every answer is checked as it arrives (the successor must be the one
// the refresh key derives; no unexpected code) and every call is logged.
//
// Usage:
//   Ledger ledger(*TokenMath::FromKeyDir(server->key_dir()));
//   LoadDriver driver({.targets = {server->grpc_address()}, .clients = 16}, ledger);
//   driver.Start();  ...inject faults...  driver.Stop();
//   Settle(ledger, {server->grpc_address()}, options);
#ifndef TOKEN_TESTS_FAULT_LOAD_DRIVER_H_
#define TOKEN_TESTS_FAULT_LOAD_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/fault/fault_support.h"
#include "token/v1/token.grpc.pb.h"

namespace token::testing::fault {

struct DriverOptions {
  std::vector<std::string> targets;  // gRPC addresses; client i uses targets[i % n]
  int clients = 8;
  int channels_per_target = 2;  // separate HTTP/2 connections
  absl::Duration call_timeout = absl::Seconds(2);
  absl::Duration think = absl::Milliseconds(1);     // between calls
  absl::Duration backoff = absl::Milliseconds(50);  // after a transient failure, jittered ×1–2
  int verify_percent = 20;
  int grace_retry_percent = 5;
  int issue_percent = 2;
  int replay_percent = 0;
  // RESOURCE_EXHAUSTED / OVERLOADED is an acceptable answer (overload scenario).
  bool overload_expected = false;
  // The server's --reuse-grace: a lost response retried later than this may
  // legitimately be REFRESH_TOKEN_REUSED.
  absl::Duration reuse_grace = absl::Seconds(30);
  // The server's --refresh-idle-ttl: tells a grace answer (idle expiry set at
  // the earlier rotation) from a fresh rotation (set now).
  absl::Duration refresh_idle_ttl = absl::Hours(168);
  std::string subject_prefix = "client";
  uint32_t seed = 1;
};

// Endpoints: `per_target` channels to each target, each its own connection.
class Endpoints {
 public:
  // Returns once every channel is connected, or after 10 s.
  Endpoints(const std::vector<std::string>& targets, int per_target);
  int targets() const { return static_cast<int>(targets_); }
  // The stub for client `index`: spread over targets first, then channels.
  v1::TokenService::Stub& ForClient(int index);
  v1::TokenService::Stub& For(int target, int channel);

 private:
  size_t targets_;
  size_t per_target_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs_;
};

struct CallResult {
  grpc::Status status;
  absl::Time start;
  std::string reason;  // ErrorInfo.reason, "" when none
  v1::TokenPair pair;  // IssueTokens / RefreshTokens on success
  std::string verified_session_id;
};

// One call, logged into `ledger` (never throws; never retries).
CallResult CallIssue(v1::TokenService::Stub& stub, const std::string& subject,
                     absl::Duration timeout, Ledger& ledger);
CallResult CallRefresh(v1::TokenService::Stub& stub, const std::string& token,
                       absl::Duration timeout, Ledger& ledger, CallKind kind);
CallResult CallVerify(v1::TokenService::Stub& stub, const std::string& access_token,
                      absl::Duration timeout, Ledger& ledger);

// True for answers that say nothing about what the server did.
bool IsTransient(grpc::StatusCode code);

// NoteUnanswered: after a refresh-type call that the server never answered
// (no ErrorInfo: transport failure or the caller's deadline), the family
// waits until that call's deadline has passed before moving its head on.
void NoteUnanswered(Family& family, const CallResult& result, absl::Duration call_timeout);
// WaitQuiet sleeps until the family may move its head on; true if it had to.
bool WaitQuiet(const Family& family);

// CheckAnswerPolicy records a violation for a code or reason no scenario
// may produce (INTERNAL, UNKNOWN, RATE_LIMITED for a genuine token…), and for
// RESOURCE_EXHAUSTED unless `overload_expected`.
void CheckAnswerPolicy(const CallResult& result, CallKind kind, bool overload_expected,
                       Ledger& ledger);

// What a client does with a family; shared by the driver and Settle.
enum class StepOutcome { kAnswered, kTransient, kFamilyEnded };
StepOutcome RefreshStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                        Ledger& ledger, absl::Time now);
StepOutcome ReplayStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                       Ledger& ledger);

class LoadDriver {
 public:
  LoadDriver(DriverOptions options, Ledger& ledger);
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  void Start();
  // Lets every client finish its current call (bounded by call_timeout) and joins.
  void Stop();

 private:
  void ClientLoop(int index);

  const DriverOptions options_;
  Ledger& ledger_;
  Endpoints endpoints_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// Settle: after the fault has healed and the load stopped, every family still
// in doubt presents its token until answered, and every replay not yet
// answered is repeated until it is. Returns how many families were settled;
// those that could not be (within `timeout`) are violations.
int64_t Settle(Ledger& ledger, const std::string& target, const DriverOptions& options,
               absl::Duration timeout);

}  // namespace token::testing::fault

#endif  // TOKEN_TESTS_FAULT_LOAD_DRIVER_H_
