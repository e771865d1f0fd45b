#include "server/store/conninfo.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace token {

std::string WithConnectionOptions(const std::string& conninfo,
                                  const std::vector<std::pair<std::string, std::string>>& options) {
  const bool is_uri =
      absl::StartsWith(conninfo, "postgresql://") || absl::StartsWith(conninfo, "postgres://");
  std::string out = conninfo;
  for (const auto& [key, value] : options) {
    if (absl::StrContains(conninfo, key + "=")) continue;
    if (is_uri) {
      absl::StrAppend(&out, absl::StrContains(out, "?") ? "&" : "?", key, "=", value);
    } else {
      absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", value);
    }
  }
  return out;
}

std::string WithServiceOptions(const std::string& conninfo, const std::string& application_name,
                               int connect_timeout_seconds) {
  return WithConnectionOptions(conninfo,
                               {{"connect_timeout", absl::StrCat(connect_timeout_seconds)},
                                {"application_name", application_name},
                                {"keepalives", "1"},
                                {"keepalives_idle", "5"},
                                {"keepalives_interval", "2"},
                                {"keepalives_count", "3"},
                                {"tcp_user_timeout", "10000"}});
}

}  // namespace token
