// tokenctl: see `tokenctl --help` (client/tokenctl/cli.cc UsageText).
#include <iostream>
#include <string>
#include <vector>

#include "client/tokenctl/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return token::tokenctl::Main(args, std::cin, std::cout, std::cerr);
}
