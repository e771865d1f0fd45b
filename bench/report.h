// Report: a RunResult as text for people or as one JSON object for scripts
// (bench/run.sh reads the JSON). Latencies are in milliseconds.
#ifndef TOKEN_BENCH_REPORT_H_
#define TOKEN_BENCH_REPORT_H_

#include <string>

#include "bench/load_driver.h"
#include "nlohmann/json.hpp"

namespace token::bench {

// ToJson: {"mode", "server", "concurrency", "channels", "warmup_s",
// "duration_s", "target_rate", "setup_calls", "starved",
// "ops": {"<op>": OP}, "total": OP} with
// OP = {"calls", "ok", "errors": {"<CODE>": n}, "throughput",
//       "latency_ms": {"p50", "p90", "p99", "p99_9", "max", "mean"}}.
nlohmann::json ToJson(const RunResult& result);

// ToText: a header line, one table row per op (and "all" for a mix), and the
// errors by status code.
std::string ToText(const RunResult& result);

}  // namespace token::bench

#endif  // TOKEN_BENCH_REPORT_H_
