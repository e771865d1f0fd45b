#include "bench/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace token::bench {
namespace {

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

nlohmann::json OpJson(const OpResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, count] : r.errors) errors[code] = count;
  return {
      {"calls", r.calls},
      {"ok", r.ok},
      {"errors", errors},
      {"throughput", r.throughput},
      {"latency_ms",
       {{"p50", Ms(r.p50)},
        {"p90", Ms(r.p90)},
        {"p99", Ms(r.p99)},
        {"p99_9", Ms(r.p999)},
        {"max", Ms(r.max)},
        {"mean", Ms(r.mean)}}},
  };
}

std::string Row(absl::string_view name, const OpResult& r) {
  return absl::StrFormat("%-8s %9d %9d %7d %10.1f %8.3f %8.3f %8.3f %8.3f %8.3f\n", name, r.calls,
                         r.ok, r.calls - r.ok, r.throughput, Ms(r.p50), Ms(r.p90), Ms(r.p99),
                         Ms(r.p999), Ms(r.max));
}

}  // namespace

nlohmann::json ToJson(const RunResult& result) {
  const DriverOptions& o = result.options;
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [op, r] : result.ops) ops[std::string(OpName(op))] = OpJson(r);
  return {
      {"mode", std::string(ModeName(o.mode))},
      {"server", o.server},
      {"concurrency", o.concurrency},
      {"channels", o.channels},
      {"warmup_s", absl::ToDoubleSeconds(o.warmup)},
      {"duration_s", absl::ToDoubleSeconds(result.window)},
      {"target_rate", o.rate},
      {"setup_calls", result.setup_calls},
      {"starved", result.starved},
      {"ops", ops},
      {"total", OpJson(result.total)},
  };
}

std::string ToText(const RunResult& result) {
  const DriverOptions& o = result.options;
  std::string out = absl::StrCat(
      "token-bench mode=", ModeName(o.mode), " server=", o.server, " concurrency=", o.concurrency,
      " channels=", o.channels, " warmup=", absl::FormatDuration(o.warmup),
      " duration=", absl::FormatDuration(result.window),
      " rate=", o.rate > 0 ? absl::StrFormat("%.0f/s", o.rate) : std::string("max"), "\n");
  absl::StrAppendFormat(&out, "%-8s %9s %9s %7s %10s %8s %8s %8s %8s %8s\n", "op", "calls", "ok",
                        "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  for (const auto& [op, r] : result.ops) absl::StrAppend(&out, Row(OpName(op), r));
  if (result.ops.size() > 1) absl::StrAppend(&out, Row("all", result.total));
  for (const auto& [op, r] : result.ops) {
    for (const auto& [code, count] : r.errors) {
      absl::StrAppend(&out, "errors: ", OpName(op), " ", code, " ", count, "\n");
    }
  }
  if (result.starved > 0) {
    absl::StrAppend(&out, "starved: ", result.starved,
                    " refreshes not made (pool empty after failures)\n");
  }
  return out;
}

}  // namespace token::bench
