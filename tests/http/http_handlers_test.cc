#include "server/http/http_handlers.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/keys/test_keys.h"

namespace token {
namespace {

using ::testing::Contains;
using ::testing::Pair;

using testing::TestKey;

KeySetPtr Keys(size_t i) {
  absl::StatusOr<KeySetPtr> set = KeySet::Create(TestKey(i), {TestKey(i)});
  EXPECT_TRUE(set.ok()) << set.status();
  return *set;
}

HttpRequestView Get(absl::string_view path) {
  HttpRequestView request;
  request.method = "GET";
  request.target = path;
  request.path = path;
  return request;
}

std::optional<std::string> HeaderOf(const HttpResponse& response, absl::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

class HttpHandlersTest : public ::testing::Test {
 protected:
  HttpHandlersTest() : keys_(Keys(0)) {
    RegisterPublicHandlers(
        router_, keys_, readiness_, [this] { return metrics_; }, absl::Minutes(30));
  }

  KeyProvider keys_;
  Readiness readiness_;
  std::string metrics_ = "token_up 1\n";
  HttpRouter router_;
};

TEST_F(HttpHandlersTest, JwksIsServedWithCacheHeaders) {
  const HttpResponse response = router_.Dispatch(Get(kJwksPath));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, keys_.Current()->jwks_json());
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/jwk-set+json");
  EXPECT_EQ(HeaderOf(response, "ETag"), keys_.Current()->jwks_etag());
  EXPECT_EQ(HeaderOf(response, "Cache-Control"), "public, max-age=1800");
}

TEST_F(HttpHandlersTest, JwksMatchingEtagIs304WithoutBody) {
  const std::string etag = keys_.Current()->jwks_etag();
  for (const std::string& if_none_match :
       {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    HttpRequestView request = Get(kJwksPath);
    request.headers = {{"if-none-match", if_none_match}};
    const HttpResponse response = router_.Dispatch(request);
    EXPECT_EQ(response.status, 304) << if_none_match;
    EXPECT_EQ(response.body, "");
    EXPECT_EQ(HeaderOf(response, "ETag"), etag);
    EXPECT_EQ(HeaderOf(response, "Cache-Control"), "public, max-age=1800");
  }
}

TEST_F(HttpHandlersTest, JwksOldEtagAfterRotationIs200) {
  const std::string old_etag = keys_.Current()->jwks_etag();
  keys_.Replace(Keys(1));
  HttpRequestView request = Get(kJwksPath);
  request.headers = {{"If-None-Match", old_etag}};
  const HttpResponse response = router_.Dispatch(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, keys_.Current()->jwks_json());
  EXPECT_NE(HeaderOf(response, "ETag"), old_etag);
}

TEST_F(HttpHandlersTest, HealthzIsAlwaysAlive) {
  const HttpResponse response = router_.Dispatch(Get("/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"alive\":true}");
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/json");
}

TEST_F(HttpHandlersTest, ReadyzFollowsReadiness) {
  HttpResponse response = router_.Dispatch(Get("/readyz"));
  EXPECT_EQ(response.status, 503);  // No check has passed yet.
  EXPECT_EQ(response.body, readiness_.DescribeJson());
  readiness_.Set("database", true, "ok");
  response = router_.Dispatch(Get("/readyz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, readiness_.DescribeJson());
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/json");
  readiness_.SetDraining();
  EXPECT_EQ(router_.Dispatch(Get("/readyz")).status, 503);
}

TEST_F(HttpHandlersTest, MetricsRendersOnEachScrape) {
  EXPECT_EQ(router_.Dispatch(Get("/metrics")).body, "token_up 1\n");
  metrics_ = "token_up 2\n";
  const HttpResponse response = router_.Dispatch(Get("/metrics"));
  EXPECT_EQ(response.body, "token_up 2\n");
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "text/plain; version=0.0.4");
}

TEST_F(HttpHandlersTest, OnlyGetAndHead) {
  for (const char* path : {kJwksPath, "/healthz", "/readyz", "/metrics"}) {
    HttpRequestView request = Get(path);
    request.method = "POST";
    const HttpResponse response = router_.Dispatch(request);
    EXPECT_EQ(response.status, 405) << path;
    EXPECT_THAT(response.headers, Contains(Pair("Allow", "GET, HEAD")));
  }
}

TEST(EtagMatchesTest, WeakComparisonOverAList) {
  EXPECT_TRUE(EtagMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(EtagMatches("W/\"a\"", "\"a\""));
  EXPECT_TRUE(EtagMatches(" \"x\" ,  \"a\" ", "\"a\""));
  EXPECT_TRUE(EtagMatches("*", "\"a\""));
  EXPECT_FALSE(EtagMatches("\"b\"", "\"a\""));
  EXPECT_FALSE(EtagMatches("a", "\"a\""));
  EXPECT_FALSE(EtagMatches("", "\"a\""));
}

}  // namespace
}  // namespace token
