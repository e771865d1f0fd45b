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

// Every connection the server opens gets the connect timeout, its name and
// keepalives that end a half-open connection within seconds.
TEST(ConninfoTest, ServiceOptionsAddKeepalives) {
  EXPECT_EQ(WithServiceOptions("host=h dbname=token", "token-server-feed"),
            "host=h dbname=token connect_timeout=2 application_name=token-server-feed "
            "keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3 "
            "tcp_user_timeout=10000");
  EXPECT_EQ(WithServiceOptions("postgresql://h/token", "token-server-migrate", 30),
            "postgresql://h/token?connect_timeout=30&application_name=token-server-migrate"
            "&keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=3"
            "&tcp_user_timeout=10000");
}

// The operator's own keepalive settings win over the defaults.
TEST(ConninfoTest, ServiceOptionsKeepOperatorValues) {
  EXPECT_EQ(WithServiceOptions("host=h keepalives=0 tcp_user_timeout=0 application_name=mine",
                               "token-server"),
            "host=h keepalives=0 tcp_user_timeout=0 application_name=mine connect_timeout=2 "
            "keepalives_idle=5 keepalives_interval=2 keepalives_count=3");
  EXPECT_EQ(WithServiceOptions("postgres://h/token?keepalives_idle=60", "token-server"),
            "postgres://h/token?keepalives_idle=60&connect_timeout=2&application_name=token-server"
            "&keepalives=1&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000");
}

}  // namespace
}  // namespace token
