#include "server/http/http_handlers.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace token {

bool EtagMatches(absl::string_view if_none_match, absl::string_view etag) {
  for (absl::string_view candidate : absl::StrSplit(if_none_match, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    if (candidate == "*") return true;
    absl::ConsumePrefix(&candidate, "W/");
    if (candidate == etag) return true;
  }
  return false;
}

void RegisterPublicHandlers(HttpRouter& router, const KeyProvider& keys, const Readiness& readiness,
                            std::function<std::string()> metrics, absl::Duration jwks_max_age) {
  router.Handle(
      "GET", kJwksPath,
      [&keys, cache_control = absl::StrCat("public, max-age=", absl::ToInt64Seconds(jwks_max_age))](
          const HttpRequestView& request) {
        const KeySetPtr set = keys.Current();
        HttpResponse response;
        response.headers = {{"ETag", set->jwks_etag()}, {"Cache-Control", cache_control}};
        const std::optional<absl::string_view> if_none_match = request.Header("If-None-Match");
        if (if_none_match.has_value() && EtagMatches(*if_none_match, set->jwks_etag())) {
          response.status = 304;
          return response;
        }
        response.headers.emplace_back("Content-Type", "application/jwk-set+json");
        response.body = set->jwks_json();
        return response;
      });
  router.Handle("GET", "/healthz", [](const HttpRequestView&) {
    return HttpResponse::WithBody(200, "application/json", "{\"alive\":true}");
  });
  router.Handle("GET", "/readyz", [&readiness](const HttpRequestView&) {
    return HttpResponse::WithBody(readiness.ready() ? 200 : 503, "application/json",
                                  readiness.DescribeJson());
  });
  router.Handle("GET", "/metrics", [metrics = std::move(metrics)](const HttpRequestView&) {
    return HttpResponse::WithBody(200, "text/plain; version=0.0.4", metrics());
  });
}

}  // namespace token
