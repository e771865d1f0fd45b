#ifndef TOKEN_TESTS_HARNESS_POSTGRES_ENVIRONMENT_H_
#define TOKEN_TESTS_HARNESS_POSTGRES_ENVIRONMENT_H_

// Including this header in a test binary registers PostgresEnvironment: one
// throwaway PostgreSQL per test process, started before the first test (and
// not at all for --gtest_list_tests). Tests then use
//   token::testing::PostgresEnvironment::Get().conninfo()
// Safe to include from several files of one binary: it registers once.

#include "gtest/gtest.h"
#include "tests/harness/postgres_fixture.h"

namespace token::testing::internal {

inline ::testing::Environment* const kPostgresEnvironmentRegistration =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

}  // namespace token::testing::internal

#endif  // TOKEN_TESTS_HARNESS_POSTGRES_ENVIRONMENT_H_
