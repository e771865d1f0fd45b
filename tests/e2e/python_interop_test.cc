// Interop: a Python client generated from the .proto issues and refreshes
// tokens over gRPC, and PyJWT verifies them offline against the JWKS URL.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/token_server_process.h"
#include "tests/harness/postgres_environment.h"
#include "tests/harness/subprocess.h"

namespace token::testing {
namespace {

// client/python/interop_check.py exits 0 only if every check passed.
TEST(PythonInteropTest, GeneratedClientAndPyJwtInteroperate) {
  auto server = TokenServerProcess::Start(PostgresEnvironment::Get().conninfo());
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string out = ::testing::TempDir() + "/python_interop.log";
  SubprocessOptions options;
  options.output_path = out;
  options.working_dir = std::string(TOKEN_SOURCE_DIR) + "/client/python";
  options.env = {{"PYTHONDONTWRITEBYTECODE", "1"}};
  auto exit_code = RunCommand(
      {"/usr/bin/python3", "interop_check.py", "--grpc", (*server)->grpc_address(), "--jwks",
       absl::StrCat("http://127.0.0.1:", (*server)->http_port(), "/.well-known/jwks.json")},
      options, absl::Seconds(120));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  auto output = ReadFileToString(out);
  EXPECT_EQ(*exit_code, 0) << (output.ok() ? *output : "");
}

}  // namespace
}  // namespace token::testing
