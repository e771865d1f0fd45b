#include "server/health/readiness.h"

#include "nlohmann/json.hpp"

namespace token {

void Readiness::Set(const std::string& check, bool ok, const std::string& detail) {
  absl::MutexLock lock(&mu_);
  checks_[check] = Check{ok, detail};
}

void Readiness::SetDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool Readiness::ready() const {
  absl::MutexLock lock(&mu_);
  if (draining_ || checks_.empty()) return false;
  for (const auto& [name, check] : checks_) {
    if (!check.ok) return false;
  }
  return true;
}

std::string Readiness::DescribeJson() const {
  const bool is_ready = ready();
  absl::MutexLock lock(&mu_);
  nlohmann::ordered_json out;
  out["ready"] = is_ready;
  out["draining"] = draining_;
  out["checks"] = nlohmann::ordered_json::object();
  for (const auto& [name, check] : checks_) {
    out["checks"][name] = {{"ok", check.ok}, {"detail", check.detail}};
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace token
