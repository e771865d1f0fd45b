// token-bench: load generator for token.v1.TokenService. See load_driver.h
// for what each mode does; bench/run.sh for the standard matrix.
//
//   token-bench --server=127.0.0.1:50051 --mode=verify --concurrency=32
//               --duration=10s --warmup=2s [--rate=N] [--json]
//
// Flags may be written with '-' or '_' (--call-timeout = --call_timeout).
// Exit codes: 0 the run completed (errors, if any, are in the report), 1 bad
// flags, 3 the server could not be reached or the pools not filled, 4 other.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/load_driver.h"
#include "bench/report.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "gRPC address of token-server");
ABSL_FLAG(std::string, mode, "verify", "issue | refresh | verify | mix | noop");
ABSL_FLAG(int, concurrency, 32, "calls in flight at once");
ABSL_FLAG(int, channels, 1, "gRPC channels (connections) the calls are spread over");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured time");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "time before measuring starts");
ABSL_FLAG(double, rate, 0, "calls per second in all (open loop); 0 = as fast as possible");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(5), "deadline of each call");
ABSL_FLAG(int, refresh_pool, 0, "sessions pre-issued for refresh/mix; 0 = 4 x concurrency");
ABSL_FLAG(int, verify_tokens, 256, "access tokens pre-issued for verify/mix");
ABSL_FLAG(std::string, mix, "10,20,70", "mix weights issue,refresh,verify");
ABSL_FLAG(std::string, subject_prefix, "bench", "subjects are <prefix>-<pid>-<n>");
ABSL_FLAG(bool, json, false, "print one JSON object instead of a table");
ABSL_FLAG(int, claims_bytes, 0,
          "custom claims of about this many JSON bytes on every issued session (0 = none)");

namespace {

constexpr int kExitUsage = 1;
constexpr int kExitUnavailable = 3;
constexpr int kExitOther = 4;

// "--call-timeout=5s" → "--call_timeout=5s": Abseil flag names use '_'.
std::vector<char*> NormaliseFlagNames(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (size_t i = 1; i < storage.size(); ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    for (size_t j = 2; j < end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  std::vector<char*> out;
  for (std::string& arg : storage) out.push_back(arg.data());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles
  // (it shows in profiles as GraphCycles); a load generator must not pay that.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "load generator for token.v1.TokenService.\n"
      "  token-bench --server=HOST:PORT --mode=issue|refresh|verify|mix|noop "
      "[--concurrency=32] [--duration=10s] [--warmup=2s] [--rate=N] [--json]");
  std::vector<std::string> storage;
  std::vector<char*> args = NormaliseFlagNames(argc, argv, storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    std::cerr << "token-bench: unexpected argument " << rest[1] << "\n";
    return kExitUsage;
  }

  token::bench::DriverOptions options;
  options.server = absl::GetFlag(FLAGS_server);
  std::optional<token::bench::Mode> mode = token::bench::ParseMode(absl::GetFlag(FLAGS_mode));
  if (!mode.has_value()) {
    std::cerr << "token-bench: --mode must be issue, refresh, verify, mix or noop\n";
    return kExitUsage;
  }
  options.mode = *mode;
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.duration = absl::GetFlag(FLAGS_duration);
  options.warmup = absl::GetFlag(FLAGS_warmup);
  options.rate = absl::GetFlag(FLAGS_rate);
  options.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  options.refresh_pool = absl::GetFlag(FLAGS_refresh_pool);
  options.verify_tokens = absl::GetFlag(FLAGS_verify_tokens);
  options.subject_prefix = absl::GetFlag(FLAGS_subject_prefix);
  options.claims_bytes = absl::GetFlag(FLAGS_claims_bytes);
  if (options.claims_bytes < 0 || options.claims_bytes > 65536) {
    std::cerr << "token-bench: --claims-bytes must be 0-65536\n";
    return kExitUsage;
  }
  std::vector<std::string> weights = absl::StrSplit(absl::GetFlag(FLAGS_mix), ',');
  if (weights.size() != 3 || !absl::SimpleAtoi(weights[0], &options.mix.issue) ||
      !absl::SimpleAtoi(weights[1], &options.mix.refresh) ||
      !absl::SimpleAtoi(weights[2], &options.mix.verify)) {
    std::cerr << "token-bench: --mix must be three integers: issue,refresh,verify\n";
    return kExitUsage;
  }

  absl::StatusOr<token::bench::RunResult> result = token::bench::RunLoad(options);
  if (!result.ok()) {
    std::cerr << "token-bench: " << result.status() << "\n";
    if (absl::IsInvalidArgument(result.status())) return kExitUsage;
    if (absl::IsUnavailable(result.status())) return kExitUnavailable;
    return kExitOther;
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << token::bench::ToJson(*result).dump() << "\n";
  } else {
    std::cout << token::bench::ToText(*result);
  }
  return 0;
}
