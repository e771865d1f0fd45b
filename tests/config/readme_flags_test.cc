// README's configuration table and the flag table (ServerFlags()) name the
// same flags with the same defaults, so the documentation cannot drift.
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/config/config.h"

namespace token {
namespace {

// ReadmeFlags returns flag name → default text from README's table rows
// ("| `--a`, `--b` | `1`, `2` | meaning |"). A default not in backticks
// ("unset", "embedded dev database") is the empty value.
std::map<std::string, std::string> ReadmeFlags() {
  std::ifstream file(std::string(TOKEN_SOURCE_DIR) + "/README.md");
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, std::string> flags;
  const std::regex code("`([^`]*)`");
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    if (!absl::StartsWith(line, "| `--")) continue;
    const std::vector<std::string> cells = absl::StrSplit(line, '|');
    if (cells.size() < 4) continue;
    std::vector<std::string> names, defaults;
    for (const std::string* cell : {&cells[1], &cells[2]}) {
      std::vector<std::string>& out = cell == &cells[1] ? names : defaults;
      for (std::sregex_iterator it(cell->begin(), cell->end(), code), end; it != end; ++it) {
        out.push_back((*it)[1]);
      }
    }
    for (size_t i = 0; i < names.size(); ++i) {
      flags[std::string(absl::StripPrefix(names[i], "--"))] =
          i < defaults.size() ? defaults[i] : "";
    }
  }
  return flags;
}

// Every flag is in README's table, with the default the table of flags has.
TEST(ReadmeFlagsTest, ReadmeTableMatchesFlagTable) {
  const std::map<std::string, std::string> readme = ReadmeFlags();
  ASSERT_FALSE(readme.empty()) << "no flag table found in README.md";
  for (const FlagSpec& spec : ServerFlags()) {
    auto it = readme.find(spec.name);
    if (it == readme.end()) {
      ADD_FAILURE() << "--" << spec.name << " is missing from README.md's flag table";
      continue;
    }
    ServerConfig documented, actual;
    ASSERT_TRUE(spec.parse(spec.default_text, actual).ok()) << spec.name;
    const absl::Status parsed = spec.parse(it->second, documented);
    ASSERT_TRUE(parsed.ok()) << "README's default of --" << spec.name << ": " << parsed;
    EXPECT_EQ(spec.show(documented), spec.show(actual)) << "default of --" << spec.name;
  }
  for (const auto& [name, unused] : readme) {
    bool known = false;
    for (const FlagSpec& spec : ServerFlags()) known |= spec.name == name;
    EXPECT_TRUE(known) << "README.md documents --" << name << ", which token-server lacks";
  }
}

// Every flag's default passes its own bounds.
TEST(ReadmeFlagsTest, DefaultsPassTheirChecks) {
  ServerConfig config;
  for (const FlagSpec& spec : ServerFlags()) {
    ASSERT_TRUE(spec.parse(spec.default_text, config).ok()) << spec.name;
    EXPECT_TRUE(spec.check(config).ok()) << spec.name;
  }
}

}  // namespace
}  // namespace token
