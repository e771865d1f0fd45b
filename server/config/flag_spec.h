// FlagSpec: one configuration flag described once — its name, the
// ServerConfig member it sets, its default, its bounds and its help. The
// table of them (ServerFlags() in server/config/config.h) drives parsing of
// the command line and TOKEN_* variables, defaults, validation, the usage
// text, and the check of README's flag table (tests/config/readme_flags_test.cc).
//
// Usage (one line per flag):
//   DurationFlag("access-ttl", &ServerConfig::access_ttl, absl::Minutes(15),
//                absl::Seconds(1), absl::Hours(24), "access token lifetime")
#ifndef TOKEN_SERVER_CONFIG_FLAG_SPEC_H_
#define TOKEN_SERVER_CONFIG_FLAG_SPEC_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace token {

struct ServerConfig;

struct FlagSpec {
  std::string name;          // Dashed, without "--": "access-ttl".
  std::string default_text;  // The default as it would be written on the command line.
  std::string help;
  bool is_bool = false;
  // parse reads `text` into its member of `config`; INVALID_ARGUMENT when it
  // is not a value of the flag's type. Bounds are check's.
  std::function<absl::Status(absl::string_view text, ServerConfig& config)> parse;
  // check keeps the member within the flag's bounds; the message names the flag.
  std::function<absl::Status(const ServerConfig& config)> check;
  // show renders the member in a canonical form (tests compare defaults by it).
  std::function<std::string(const ServerConfig& config)> show;
};

// A checker of a string member's value: OK, or a message naming the flag.
using StringCheck = std::function<absl::Status(absl::string_view flag, const std::string& value)>;

FlagSpec StringFlag(std::string name, std::string ServerConfig::*member, std::string default_value,
                    std::string help, StringCheck check = nullptr);
FlagSpec BoolFlag(std::string name, bool ServerConfig::*member, bool default_value,
                  std::string help);
// IntFlag accepts whole numbers in [min, max].
FlagSpec IntFlag(std::string name, int ServerConfig::*member, int default_value, int min, int max,
                 std::string help);
// IntChoiceFlag accepts exactly one of `choices`.
FlagSpec IntChoiceFlag(std::string name, int ServerConfig::*member, int default_value,
                       std::vector<int> choices, std::string help);
// DurationFlag accepts Abseil durations ("15m", "1h30m") in [min, max].
FlagSpec DurationFlag(std::string name, absl::Duration ServerConfig::*member,
                      absl::Duration default_value, absl::Duration min, absl::Duration max,
                      std::string help);

}  // namespace token

#endif  // TOKEN_SERVER_CONFIG_FLAG_SPEC_H_
