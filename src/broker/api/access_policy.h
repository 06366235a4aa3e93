// Who may call which route: bearer tokens (docs/http-api.md §1, docs/configuration.md §5.3), the
// origin check (docs/protocol.md §6, §7) and the CORS policy of the client API and public read
// groups (docs/http-api.md §3). One instance is shared by every route group; it is immutable after
// construction and therefore safe to use from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/message.h"

namespace wasimoff::broker {

class AccessPolicy {
 public:
  // Empty tokens leave the corresponding routes open. `origin_patterns` are the entries of
  // WASIMOFF_ALLOWED_ORIGINS: case-insensitive host[:port] globs ('*', '?'), already validated.
  AccessPolicy(std::string client_token, std::string provider_token,
               std::vector<std::string> origin_patterns);

  // Token checks: `Authorization: Bearer <token>` or the query parameter `token`, compared in
  // constant time. True when the token is not configured.
  bool client_ok(const http::Request& request) const;
  bool provider_ok(const http::Request& request) const;
  // Storage downloads: client OR provider check (open as soon as either token is unset).
  bool download_ok(const http::Request& request) const;
  // 401, `WWW-Authenticate: Bearer`, body "unauthorized".
  static http::Response unauthorized();

  // Origin check: true when `Origin` is absent, when its host[:port] equals the request's
  // authority (case-insensitive, default ports ignored), or when it matches a pattern.
  bool origin_allowed(const http::Request& request) const;
  // The WebTransport variant (docs/protocol.md §7): "same host" compares host names only, because
  // the page's origin and the QUIC authority differ in port. An empty origin is allowed.
  bool origin_allowed_host_only(std::string_view origin, std::string_view authority) const;

  // Client API group (Connect, CGI, upload). For a request whose Origin is present but not
  // allowed: 403 "origin not allowed"; otherwise nullopt (go on).
  std::optional<http::Response> client_cors_reject(const http::Request& request) const;
  // Adds Access-Control-Allow-Origin: <origin>, Vary: Origin and the expose list when the
  // request carries an (allowed) Origin; nothing otherwise. Never adds credentials.
  void apply_client_cors(const http::Request& request, http::Response& response) const;
  // OPTIONS: 204 with the CORS preflight headers (methods POST, OPTIONS; requested headers
  // echoed; max age 7200) for an allowed origin, 403 without CORS headers otherwise.
  http::Response client_preflight(const http::Request& request) const;

  // Public read group (downloads, discovery): Access-Control-Allow-Origin: * and the expose list.
  static void apply_public_cors(http::Response& response);
  // OPTIONS: 204 with origin *, methods GET, HEAD, OPTIONS, requested headers echoed, max age
  // 7200.
  static http::Response public_preflight(const http::Request& request);

  // The value of Access-Control-Expose-Headers (docs/http-api.md §3).
  static const std::string& expose_headers();

 private:
  static bool token_ok(const std::string& expected, const http::Request& request);
  bool pattern_match(std::string_view origin_host_port) const;

  std::string client_token_;
  std::string provider_token_;
  std::vector<std::string> origin_patterns_;
};

}  // namespace wasimoff::broker
