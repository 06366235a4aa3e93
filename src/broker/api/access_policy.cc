#include "broker/api/access_policy.h"

#include "common/strings.h"

namespace wasimoff::broker {

namespace {

constexpr std::string_view kMaxAge = "7200";

// host[:port] of an origin ("https://example.org:8443" → "example.org:8443"), lower-cased, with
// the scheme's default port removed. Text without a scheme (e.g. "null") is taken as it is.
std::string origin_host_port(std::string_view origin) {
  std::string_view scheme;
  std::string_view rest = origin;
  if (auto sep = origin.find("://"); sep != std::string_view::npos) {
    scheme = origin.substr(0, sep);
    rest = origin.substr(sep + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  std::string host = to_lower(rest);
  if (iequals(scheme, "http") && host.ends_with(":80")) host.resize(host.size() - 3);
  if (iequals(scheme, "https") && host.ends_with(":443")) host.resize(host.size() - 4);
  return host;
}

// The request authority in the same normal form.
std::string authority_host_port(std::string_view authority, std::string_view scheme) {
  std::string host = to_lower(trim(authority));
  if (iequals(scheme, "http") && host.ends_with(":80")) host.resize(host.size() - 3);
  if (iequals(scheme, "https") && host.ends_with(":443")) host.resize(host.size() - 4);
  return host;
}

// Host name without port: "[::1]:8080" → "[::1]", "example.org:443" → "example.org".
std::string_view host_only(std::string_view host_port) {
  if (host_port.starts_with('[')) {
    auto close = host_port.find(']');
    return close == std::string_view::npos ? host_port : host_port.substr(0, close + 1);
  }
  auto colon = host_port.find(':');
  if (colon != std::string_view::npos && host_port.find(':', colon + 1) == std::string_view::npos)
    return host_port.substr(0, colon);
  return host_port;
}

std::optional<std::string_view> request_origin(const http::Request& request) {
  auto origin = request.header("Origin");
  if (!origin || trim(*origin).empty()) return std::nullopt;
  return trim(*origin);
}

void add_vary_origin(http::Response& response) {
  auto vary = response.headers.get("Vary");
  if (!vary) {
    response.headers.set("Vary", "Origin");
    return;
  }
  for (auto part : split(*vary, ','))
    if (iequals(trim(part), "Origin") || trim(part) == "*") return;
  response.headers.set("Vary", std::string(*vary) + ", Origin");
}

void echo_requested_headers(const http::Request& request, http::Response& response) {
  if (auto requested = request.header("Access-Control-Request-Headers");
      requested && !trim(*requested).empty())
    response.headers.set("Access-Control-Allow-Headers", std::string(trim(*requested)));
}

http::Response no_content() {
  http::Response response;
  response.status = 204;
  response.body = std::string();
  return response;
}

}  // namespace

AccessPolicy::AccessPolicy(std::string client_token, std::string provider_token,
                           std::vector<std::string> origin_patterns)
    : client_token_(std::move(client_token)),
      provider_token_(std::move(provider_token)),
      origin_patterns_(std::move(origin_patterns)) {}

bool AccessPolicy::token_ok(const std::string& expected, const http::Request& request) {
  if (expected.empty()) return true;
  if (auto authorization = request.header("Authorization")) {
    auto value = trim(*authorization);
    auto space = value.find(' ');
    if (space != std::string_view::npos && iequals(value.substr(0, space), "Bearer") &&
        constant_time_equals(trim(value.substr(space + 1)), expected))
      return true;
  }
  if (auto token = request.query_param("token"))
    if (constant_time_equals(*token, expected)) return true;
  return false;
}

bool AccessPolicy::client_ok(const http::Request& request) const {
  return token_ok(client_token_, request);
}

bool AccessPolicy::provider_ok(const http::Request& request) const {
  return token_ok(provider_token_, request);
}

bool AccessPolicy::download_ok(const http::Request& request) const {
  return client_ok(request) || provider_ok(request);
}

http::Response AccessPolicy::unauthorized() {
  auto response = http::Response::text(401, "unauthorized");
  response.headers.set("WWW-Authenticate", "Bearer");
  return response;
}

bool AccessPolicy::pattern_match(std::string_view origin_host_port) const {
  for (const auto& pattern : origin_patterns_)
    if (glob_match(pattern, origin_host_port)) return true;
  return false;
}

bool AccessPolicy::origin_allowed(const http::Request& request) const {
  auto origin = request_origin(request);
  if (!origin) return true;
  auto host_port = origin_host_port(*origin);
  if (!host_port.empty() && host_port == authority_host_port(request.authority, request.scheme))
    return true;
  return pattern_match(host_port);
}

bool AccessPolicy::origin_allowed_host_only(std::string_view origin,
                                            std::string_view authority) const {
  origin = trim(origin);
  if (origin.empty()) return true;
  auto host_port = origin_host_port(origin);
  auto own = to_lower(trim(authority));
  if (!host_port.empty() && host_only(host_port) == host_only(own)) return true;
  return pattern_match(host_port);
}

std::optional<http::Response> AccessPolicy::client_cors_reject(const http::Request& request) const {
  if (origin_allowed(request)) return std::nullopt;
  return http::Response::text(403, "origin not allowed");
}

void AccessPolicy::apply_client_cors(const http::Request& request, http::Response& response) const {
  auto origin = request_origin(request);
  if (!origin || !origin_allowed(request)) return;
  response.headers.set("Access-Control-Allow-Origin", std::string(*origin));
  add_vary_origin(response);
  response.headers.set("Access-Control-Expose-Headers", expose_headers());
}

http::Response AccessPolicy::client_preflight(const http::Request& request) const {
  if (!origin_allowed(request)) return http::Response::text(403, "origin not allowed");
  auto response = no_content();
  if (auto origin = request_origin(request)) {
    response.headers.set("Access-Control-Allow-Origin", std::string(*origin));
    add_vary_origin(response);
  }
  response.headers.set("Access-Control-Allow-Methods", "POST, OPTIONS");
  echo_requested_headers(request, response);
  response.headers.set("Access-Control-Max-Age", std::string(kMaxAge));
  return response;
}

void AccessPolicy::apply_public_cors(http::Response& response) {
  response.headers.set("Access-Control-Allow-Origin", "*");
  response.headers.set("Access-Control-Expose-Headers", expose_headers());
}

http::Response AccessPolicy::public_preflight(const http::Request& request) {
  auto response = no_content();
  response.headers.set("Access-Control-Allow-Origin", "*");
  response.headers.set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
  echo_requested_headers(request, response);
  response.headers.set("Access-Control-Max-Age", std::string(kMaxAge));
  return response;
}

const std::string& AccessPolicy::expose_headers() {
  static const std::string list =
      "x-wasimoff-ref, X-Wasimoff-Task-Id, X-Wasimoff-Provider, X-Wasimoff-Result, "
      "X-Wasimoff-Status, X-Wasimoff-Artifacts, X-Wasimoff-Error-Code, Content-Length, "
      "Content-Range, ETag";
  return list;
}

}  // namespace wasimoff::broker
