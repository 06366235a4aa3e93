// Maps (method, path) to handlers. Shared by the TCP and the HTTP/3 server.
//
// Routing rules (docs/http-api.md §1–2):
//  * A route is an exact path ("/healthz") or a prefix ending in '*' ("/api/storage/*"); exact
//    routes win over prefixes, longer prefixes over shorter ones.
//  * Path matches but method does not → 405 with an `Allow` header. Routes that accept GET
//    also accept HEAD (the server drops the body). OPTIONS is only answered where a route lists
//    it explicitly.
//  * No route → the fallback handler (static files), or 404 `not found`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/async.h"
#include "net/http/message.h"

namespace wasimoff::http {

// Per-request context handed to handlers.
class RequestContext {
 public:
  explicit RequestContext(asio::any_io_executor ex) : peer_gone_(std::move(ex)) {}

  // Set when the client went away (TCP connection closed or HTTP/3 stream reset) or the server
  // is shutting down. Long-running handlers (task routes) wait on it to cancel their work.
  OneShotEvent& peer_gone() { return peer_gone_; }

 private:
  OneShotEvent peer_gone_;
};

using Handler = std::function<awaitable<Response>(Request&, RequestContext&)>;

class Router {
 public:
  // `methods`: comma-separated, e.g. "GET" (implies HEAD), "POST", "POST,OPTIONS".
  void add(std::string_view methods, std::string pattern, Handler handler);
  void set_fallback(Handler handler) { fallback_ = std::move(handler); }

  // Dispatches; never throws (handler exceptions become 500 `internal server error`).
  awaitable<Response> dispatch(Request& request, RequestContext& context) const;

  // True when some route's pattern matches `path` (used e.g. to keep /api/* out of static files).
  bool matches_path(std::string_view path) const;

 private:
  struct Route {
    std::vector<std::string> methods;
    std::string pattern;  // without the trailing '*' for prefixes
    bool prefix = false;
    Handler handler;
  };
  const Route* find(std::string_view path, std::string_view method, std::string* allow) const;

  std::vector<Route> routes_;
  Handler fallback_;
};

}  // namespace wasimoff::http
