// WithConnectionOptions: options appended in each connection-string form's syntax.
#include "server/store/conninfo.h"

#include "gtest/gtest.h"

namespace token {
namespace {

// Keyword form: space-separated key=value pairs.
TEST(ConninfoTest, KeywordFormAppendsPairs) {
  EXPECT_EQ(WithConnectionOptions("host=/run dbname=token", {{"connect_timeout", "2"}}),
            "host=/run dbname=token connect_timeout=2");
}

// URI form: a query string, so libpq does not read the options as the database name.
TEST(ConninfoTest, UriFormAppendsQueryParameters) {
  EXPECT_EQ(WithConnectionOptions("postgresql://u:p@h:5432/token",
                                  {{"connect_timeout", "2"}, {"application_name", "x"}}),
            "postgresql://u:p@h:5432/token?connect_timeout=2&application_name=x");
  EXPECT_EQ(WithConnectionOptions("postgres://h/token?sslmode=require", {{"connect_timeout", "2"}}),
            "postgres://h/token?sslmode=require&connect_timeout=2");
}

// An option the operator already set is left as it is.
TEST(ConninfoTest, ExistingOptionKept) {
  EXPECT_EQ(WithConnectionOptions("host=h connect_timeout=9", {{"connect_timeout", "2"}}),
            "host=h connect_timeout=9");
  EXPECT_EQ(WithConnectionOptions("", {{"connect_timeout", "2"}}), "connect_timeout=2");
}

}  // namespace
}  // namespace token
