#include "server/http/router.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace token {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> Decode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::optional<absl::string_view> HttpRequestView::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<absl::string_view> HttpRequestView::QueryParam(absl::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

HttpResponse HttpResponse::WithBody(int status, std::string content_type, std::string body) {
  return {.status = status,
          .headers = {{"Content-Type", std::move(content_type)}},
          .body = std::move(body)};
}

HttpResponse HttpResponse::Error(int status, absl::string_view reason) {
  // Reasons are fixed identifiers chosen by the server, never request data,
  // so no JSON escaping is needed.
  return WithBody(status, "application/json", absl::StrCat("{\"error\":\"", reason, "\"}"));
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(
    absl::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    const size_t equals = pair.find('=');
    std::optional<std::string> name = Decode(pair.substr(0, equals));
    std::optional<std::string> value =
        Decode(equals == absl::string_view::npos ? "" : pair.substr(equals + 1));
    if (!name.has_value() || !value.has_value()) return std::nullopt;
    out.emplace_back(*std::move(name), *std::move(value));
  }
  return out;
}

void HttpRouter::Handle(absl::string_view method, absl::string_view path, HttpHandler handler) {
  routes_[path][method] = std::move(handler);
}

HttpResponse HttpRouter::Dispatch(const HttpRequestView& request) const {
  const auto route = routes_.find(request.path);
  if (route == routes_.end()) return HttpResponse::Error(404, "not_found");
  const auto& methods = route->second;
  auto handler = methods.find(request.method);
  if (handler == methods.end() && request.method == "HEAD") handler = methods.find("GET");
  if (handler != methods.end()) return handler->second(request);

  std::vector<std::string> allowed;
  for (const auto& [method, unused] : methods) allowed.push_back(method);
  if (methods.contains("GET") && !methods.contains("HEAD")) allowed.push_back("HEAD");
  std::sort(allowed.begin(), allowed.end());
  HttpResponse response = HttpResponse::Error(405, "method_not_allowed");
  response.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return response;
}

}  // namespace token
