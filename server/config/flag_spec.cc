#include "server/config/flag_spec.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/config/config.h"

namespace token {
namespace {

absl::Status BadValue(absl::string_view name, absl::string_view text, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", text, "\" for --", name, ": ", expected));
}

}  // namespace

FlagSpec StringFlag(std::string name, std::string ServerConfig::*member, std::string default_value,
                    std::string help, StringCheck check) {
  FlagSpec spec{.name = name, .default_text = std::move(default_value), .help = std::move(help)};
  spec.parse = [member](absl::string_view text, ServerConfig& c) {
    c.*member = std::string(text);
    return absl::OkStatus();
  };
  spec.check = [name, member, check](const ServerConfig& c) {
    return check ? check(name, c.*member) : absl::OkStatus();
  };
  spec.show = [member](const ServerConfig& c) { return c.*member; };
  return spec;
}

FlagSpec BoolFlag(std::string name, bool ServerConfig::*member, bool default_value,
                  std::string help) {
  FlagSpec spec{.name = name,
                .default_text = default_value ? "true" : "false",
                .help = std::move(help),
                .is_bool = true};
  spec.parse = [name, member](absl::string_view text, ServerConfig& c) {
    const std::string lower = absl::AsciiStrToLower(text);
    if (lower == "true" || lower == "1" || lower == "yes") {
      c.*member = true;
    } else if (lower == "false" || lower == "0" || lower == "no") {
      c.*member = false;
    } else {
      return BadValue(name, text, "true or false");
    }
    return absl::OkStatus();
  };
  spec.check = [](const ServerConfig&) { return absl::OkStatus(); };
  spec.show = [member](const ServerConfig& c) { return std::string(c.*member ? "true" : "false"); };
  return spec;
}

FlagSpec IntFlag(std::string name, int ServerConfig::*member, int default_value, int min, int max,
                 std::string help) {
  FlagSpec spec{.name = name, .default_text = absl::StrCat(default_value), .help = std::move(help)};
  spec.parse = [name, member](absl::string_view text, ServerConfig& c) {
    if (!absl::SimpleAtoi(text, &(c.*member))) return BadValue(name, text, "a whole number");
    return absl::OkStatus();
  };
  spec.check = [name, member, min, max](const ServerConfig& c) {
    if (c.*member < min || c.*member > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " must be between ", min, " and ", max));
    }
    return absl::OkStatus();
  };
  spec.show = [member](const ServerConfig& c) { return absl::StrCat(c.*member); };
  return spec;
}

FlagSpec IntChoiceFlag(std::string name, int ServerConfig::*member, int default_value,
                       std::vector<int> choices, std::string help) {
  FlagSpec spec = IntFlag(name, member, default_value, 0, 0, std::move(help));
  spec.check = [name, member, choices](const ServerConfig& c) {
    for (int choice : choices) {
      if (c.*member == choice) return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be one of ", absl::StrJoin(choices, ", ")));
  };
  return spec;
}

FlagSpec DurationFlag(std::string name, absl::Duration ServerConfig::*member,
                      absl::Duration default_value, absl::Duration min, absl::Duration max,
                      std::string help) {
  FlagSpec spec{
      .name = name, .default_text = absl::FormatDuration(default_value), .help = std::move(help)};
  spec.parse = [name, member](absl::string_view text, ServerConfig& c) {
    if (!absl::ParseDuration(text, &(c.*member))) {
      return BadValue(name, text, "a duration such as 30s, 15m or 1h30m");
    }
    return absl::OkStatus();
  };
  // Durations stay finite and sane: "inf" parses, and a lifetime of years
  // would overflow what the database stores.
  spec.check = [name, member, min, max](const ServerConfig& c) {
    if (c.*member < min || c.*member > max) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " must be between ",
                                                     absl::FormatDuration(min), " and ",
                                                     absl::FormatDuration(max)));
    }
    return absl::OkStatus();
  };
  spec.show = [member](const ServerConfig& c) { return absl::FormatDuration(c.*member); };
  return spec;
}

}  // namespace token
