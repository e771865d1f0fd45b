// token-server: flags → configuration → one of serve / migrate / keygen.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/app/server_app.h"
#include "server/config/config.h"

int main(int argc, char** argv) {
  // Debian's Abseil keeps mutex deadlock detection on; it costs every lock
  // acquisition on the hot paths and guards against nothing in production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  token::BlockSignals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<token::Invocation> invocation = token::ParseInvocation(args, token::ProcessEnv);
  if (!invocation.ok()) {
    std::fprintf(stderr, "token-server: %s\n(see token-server --help)\n",
                 std::string(invocation.status().message()).c_str());
    return token::kExitBadConfig;
  }
  switch (invocation->command) {
    case token::Command::kHelp:
      std::fputs(token::UsageText().c_str(), stdout);
      return token::kExitOk;
    case token::Command::kMigrate:
      return token::RunMigrate(invocation->config);
    case token::Command::kKeygen:
      return token::RunKeygen(invocation->config);
    case token::Command::kServe:
      return token::RunServe(invocation->config);
  }
  return token::kExitBadConfig;
}
