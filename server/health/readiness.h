// Readiness: named checks (database, signing keys, revocation feed) that
// together say whether this replica should receive traffic. Read by /readyz
// and mirrored into the gRPC health service.
#ifndef TOKEN_SERVER_HEALTH_READINESS_H_
#define TOKEN_SERVER_HEALTH_READINESS_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace token {

class Readiness {
 public:
  // Set records the state of `check`. `detail` is shown to operators: never a secret.
  void Set(const std::string& check, bool ok, const std::string& detail = "");

  // SetDraining makes the replica permanently not ready (shutdown under way).
  void SetDraining();

  // ready: every check set so far passes, at least one was set, not draining.
  bool ready() const;

  // DescribeJson: {"ready":bool,"draining":bool,"checks":{name:{"ok":bool,"detail":…}}}.
  std::string DescribeJson() const;

 private:
  struct Check {
    bool ok = false;
    std::string detail;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Check> checks_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace token

#endif  // TOKEN_SERVER_HEALTH_READINESS_H_
