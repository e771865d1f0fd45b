// LoadDriver: drives token.v1.TokenService (or the gRPC health service, as the
// no-op ceiling) with a fixed number of calls in flight, on gRPC's callback
// API, for a warm-up and then a measured duration, and stops by itself.
//
// Closed loop (rate 0): every in-flight slot starts its next call from the
// completion callback of the previous one, as fast as the server answers.
// Open loop (rate > 0): calls are scheduled at a fixed rate and each one's
// latency counts from its scheduled start, so time spent waiting for a free
// slot is included (no coordinated omission).
//
// Modes: issue (IssueTokens), refresh (RefreshTokens over a pre-issued pool
// of sessions; each refresh token is presented exactly once and its successor
// goes back to the pool), verify (VerifyAccess over a pre-issued set of
// access tokens), mix (by weight, default 10 % issue, 20 % refresh, 70 %
// verify) and noop (grpc.health.v1.Health/Check through a generic stub).
//
// Usage:
//   DriverOptions options{.server = "127.0.0.1:50051", .mode = Mode::kVerify};
//   absl::StatusOr<RunResult> result = RunLoad(options);
#ifndef TOKEN_BENCH_LOAD_DRIVER_H_
#define TOKEN_BENCH_LOAD_DRIVER_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace token::bench {

enum class Mode { kIssue, kRefresh, kVerify, kMix, kNoop };

// Op: one kind of call; a mix run reports each separately.
enum class Op { kIssue = 0, kRefresh = 1, kVerify = 2, kNoop = 3 };
inline constexpr int kOpCount = 4;

std::optional<Mode> ParseMode(absl::string_view name);
absl::string_view ModeName(Mode mode);
absl::string_view OpName(Op op);

struct MixWeights {
  int issue = 10;
  int refresh = 20;
  int verify = 70;
};

struct DriverOptions {
  std::string server = "127.0.0.1:50051";
  Mode mode = Mode::kVerify;
  // concurrency: calls in flight at once.
  int concurrency = 32;
  // channels: separate HTTP/2 connections the calls are spread over.
  int channels = 1;
  absl::Duration warmup = absl::Seconds(2);
  absl::Duration duration = absl::Seconds(10);
  // rate: calls per second in all (open loop); 0 runs closed loop.
  double rate = 0;
  // call_timeout: the deadline of each call.
  absl::Duration call_timeout = absl::Seconds(5);
  // refresh_pool: sessions pre-issued for refresh and mix; 0 = 4 × concurrency.
  int refresh_pool = 0;
  // verify_tokens: access tokens pre-issued for verify and mix.
  int verify_tokens = 256;
  MixWeights mix{};
  // subject_prefix: subjects are "<prefix>-<pid>-<n>".
  std::string subject_prefix = "bench";
  // claims_bytes: custom claims of about this serialized size on every
  // IssueTokens (0: none), carried by every refresh of those sessions.
  int claims_bytes = 0;
};

// OpResult: what was measured for one Op (or all together) in the window.
struct OpResult {
  int64_t calls = 0;
  int64_t ok = 0;
  // errors: failed calls by canonical status code name ("UNAVAILABLE").
  std::map<std::string, int64_t> errors{};
  double throughput = 0;  // Completed calls (ok or not) per second.
  absl::Duration p50{}, p90{}, p99{}, p999{}, max{}, mean{};
};

struct RunResult {
  DriverOptions options{};
  // window: the measured time (calls completing in it are counted).
  absl::Duration window{};
  // setup_calls: IssueTokens calls made before the warm-up to fill pools.
  int64_t setup_calls = 0;
  // ops: only the ops the mode used.
  std::map<Op, OpResult> ops{};
  OpResult total{};
  // starved: refresh calls not made because the pool had no token to offer
  // (only after failed refreshes dropped sessions from it).
  int64_t starved = 0;
};

// RunLoad runs one measurement. Fails with UNAVAILABLE when the server cannot
// be reached or the pools cannot be filled, INVALID_ARGUMENT on bad options.
absl::StatusOr<RunResult> RunLoad(const DriverOptions& options);

}  // namespace token::bench

#endif  // TOKEN_BENCH_LOAD_DRIVER_H_
