// Structured logging: one JSON object per line on stderr, so log pipelines
// parse fields instead of scraping text. Audit events use the same sink with
// "audit": true.
//
// NOTE: callers must never pass a token, a hash or key material as a field;
// the logger cannot tell a secret from any other string.
#ifndef TOKEN_SERVER_COMMON_LOG_H_
#define TOKEN_SERVER_COMMON_LOG_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace token {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<std::string, std::string>;

// Log writes {"ts":…, "level":…, "msg":…, fields…} as one line.
void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// Audit writes a security event line: {"audit":true, "event":…, fields…}.
void Audit(absl::string_view event, std::initializer_list<LogField> fields);

// SetLogSinkForTest redirects lines to `sink` (nullptr restores stderr).
void SetLogSinkForTest(std::function<void(const std::string&)> sink);

}  // namespace token

#endif  // TOKEN_SERVER_COMMON_LOG_H_
