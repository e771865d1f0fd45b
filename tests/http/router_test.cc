#include "server/http/router.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace token {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

HttpRequestView Request(absl::string_view method, absl::string_view path) {
  HttpRequestView request;
  request.method = method;
  request.target = path;
  request.path = path;
  return request;
}

HttpHandler Answer(std::string body) {
  return [body](const HttpRequestView&) { return HttpResponse::WithBody(200, "text/plain", body); };
}

TEST(HttpRouterTest, DispatchesByMethodAndExactPath) {
  HttpRouter router;
  router.Handle("GET", "/a", Answer("get a"));
  router.Handle("POST", "/a", Answer("post a"));
  router.Handle("GET", "/b", Answer("get b"));
  EXPECT_EQ(router.Dispatch(Request("GET", "/a")).body, "get a");
  EXPECT_EQ(router.Dispatch(Request("POST", "/a")).body, "post a");
  EXPECT_EQ(router.Dispatch(Request("GET", "/b")).body, "get b");
  // Exact paths only: no prefixes, no trailing-slash folding, no case folding.
  EXPECT_EQ(router.Dispatch(Request("GET", "/a/")).status, 404);
  EXPECT_EQ(router.Dispatch(Request("GET", "/A")).status, 404);
  EXPECT_EQ(router.Dispatch(Request("GET", "/")).status, 404);
}

TEST(HttpRouterTest, UnknownPathIs404WithJsonReason) {
  HttpRouter router;
  const HttpResponse response = router.Dispatch(Request("GET", "/nope"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, "{\"error\":\"not_found\"}");
  EXPECT_THAT(response.headers, ElementsAre(Pair("Content-Type", "application/json")));
}

TEST(HttpRouterTest, OtherMethodIs405WithAllow) {
  HttpRouter router;
  router.Handle("GET", "/a", Answer("get a"));
  router.Handle("POST", "/a", Answer("post a"));
  const HttpResponse response = router.Dispatch(Request("DELETE", "/a"));
  EXPECT_EQ(response.status, 405);
  EXPECT_THAT(response.headers, ::testing::Contains(Pair("Allow", "GET, HEAD, POST")));
  // Methods are case-sensitive.
  EXPECT_EQ(router.Dispatch(Request("get", "/a")).status, 405);
}

TEST(HttpRouterTest, HeadUsesTheGetHandler) {
  HttpRouter router;
  router.Handle("GET", "/a", Answer("get a"));
  EXPECT_EQ(router.Dispatch(Request("HEAD", "/a")).body, "get a");
}

TEST(HttpRouterTest, LaterRegistrationReplaces) {
  HttpRouter router;
  router.Handle("GET", "/a", Answer("first"));
  router.Handle("GET", "/a", Answer("second"));
  EXPECT_EQ(router.Dispatch(Request("GET", "/a")).body, "second");
}

// What a gateway endpoint (a POST with a form body and an Authorization
// header) will see.
TEST(HttpRouterTest, HandlerSeesHeadersQueryAndBody) {
  HttpRouter router;
  router.Handle("POST", "/v1/introspect", [](const HttpRequestView& request) {
    const auto form = ParseUrlEncoded(request.body);
    std::string seen = std::string(request.Header("authorization").value_or("-"));
    seen += "|" + std::string(request.QueryParam("q").value_or("-"));
    seen += "|" + (form.has_value() && !form->empty() ? (*form)[0].second : "-");
    seen += "|" + request.peer_address;
    return HttpResponse::WithBody(200, "text/plain", seen);
  });
  HttpRequestView request = Request("POST", "/v1/introspect");
  request.headers = {{"Authorization", "Basic abc"}, {"Content-Type", "x"}};
  request.query = {{"q", "1"}};
  request.body = "token=a%2Bb+c";
  request.peer_address = "127.0.0.1:5000";
  EXPECT_EQ(router.Dispatch(request).body, "Basic abc|1|a+b c|127.0.0.1:5000");
}

TEST(HttpRequestViewTest, HeaderLookupIsCaseInsensitiveAndFirstWins) {
  HttpRequestView request;
  request.headers = {{"If-None-Match", "\"a\""}, {"if-none-match", "\"b\""}};
  EXPECT_EQ(request.Header("IF-NONE-MATCH"), "\"a\"");
  EXPECT_EQ(request.Header("ETag"), std::nullopt);
}

TEST(ParseUrlEncodedTest, DecodesPairs) {
  EXPECT_THAT(*ParseUrlEncoded("a=1&b=x%20y+z&c&d=&a=2"),
              ElementsAre(Pair("a", "1"), Pair("b", "x y z"), Pair("c", ""), Pair("d", ""),
                          Pair("a", "2")));
  EXPECT_THAT(*ParseUrlEncoded(""), ElementsAre());
  EXPECT_THAT(*ParseUrlEncoded("&&k=%41%6a&"), ElementsAre(Pair("k", "Aj")));
  EXPECT_THAT(*ParseUrlEncoded("k=a=b"), ElementsAre(Pair("k", "a=b")));
}

TEST(ParseUrlEncodedTest, RejectsMalformedEscapes) {
  EXPECT_EQ(ParseUrlEncoded("a=%"), std::nullopt);
  EXPECT_EQ(ParseUrlEncoded("a=%4"), std::nullopt);
  EXPECT_EQ(ParseUrlEncoded("a=%zz"), std::nullopt);
  EXPECT_EQ(ParseUrlEncoded("%g1=x"), std::nullopt);
}

}  // namespace
}  // namespace token
