#include "server/common/log.h"

#include <cstdio>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace token {
namespace {

absl::Mutex sink_mu;
std::function<void(const std::string&)>* test_sink ABSL_GUARDED_BY(sink_mu) = nullptr;

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void Emit(nlohmann::ordered_json line, std::initializer_list<LogField> fields) {
  for (const auto& [key, value] : fields) line[key] = value;
  // Replace invalid UTF-8 rather than throw: a log line must never fail.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  absl::MutexLock lock(&sink_mu);
  if (test_sink != nullptr) {
    (*test_sink)(text);
    return;
  }
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
}

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
}

}  // namespace

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  nlohmann::ordered_json line;
  line["ts"] = Timestamp();
  line["level"] = std::string(LevelName(level));
  line["msg"] = std::string(message);
  Emit(std::move(line), fields);
}

void Audit(absl::string_view event, std::initializer_list<LogField> fields) {
  nlohmann::ordered_json line;
  line["ts"] = Timestamp();
  line["level"] = "info";
  line["audit"] = true;
  line["event"] = std::string(event);
  Emit(std::move(line), fields);
}

void SetLogSinkForTest(std::function<void(const std::string&)> sink) {
  absl::MutexLock lock(&sink_mu);
  static std::function<void(const std::string&)> holder;
  holder = std::move(sink);
  test_sink = holder ? &holder : nullptr;
}

}  // namespace token
