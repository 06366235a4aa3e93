#include "net/http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/strings.h"

namespace wasimoff::http {

void Router::add(std::string_view methods, std::string pattern, Handler handler) {
  Route r;
  for (auto m : split(methods, ',')) {
    auto name = to_upper(trim(m));
    if (!name.empty()) r.methods.push_back(name);
  }
  if (std::find(r.methods.begin(), r.methods.end(), "GET") != r.methods.end() &&
      std::find(r.methods.begin(), r.methods.end(), "HEAD") == r.methods.end())
    r.methods.push_back("HEAD");
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.pop_back();
    r.prefix = true;
  }
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

const Router::Route* Router::find(std::string_view path, std::string_view method,
                                  std::string* allow) const {
  // Collect every route whose pattern matches, best (exact, then longest prefix) first.
  std::vector<const Route*> matching;
  for (const auto& r : routes_) {
    bool hit = r.prefix ? path.substr(0, r.pattern.size()) == r.pattern : path == r.pattern;
    if (hit) matching.push_back(&r);
  }
  if (matching.empty()) return nullptr;
  std::stable_sort(matching.begin(), matching.end(), [](const Route* a, const Route* b) {
    if (a->prefix != b->prefix) return !a->prefix;
    return a->pattern.size() > b->pattern.size();
  });
  // The best pattern decides; several routes may share it with different methods.
  const std::string& best = matching.front()->pattern;
  bool best_prefix = matching.front()->prefix;
  std::vector<std::string> allowed;
  for (const Route* r : matching) {
    if (r->pattern != best || r->prefix != best_prefix) continue;
    if (std::find(r->methods.begin(), r->methods.end(), method) != r->methods.end()) return r;
    for (const auto& m : r->methods)
      if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
  }
  std::string joined;
  for (const auto& m : allowed) joined += (joined.empty() ? "" : ", ") + m;
  *allow = joined.empty() ? " " : joined;  // non-empty marks "path matched"
  return nullptr;
}

bool Router::matches_path(std::string_view path) const {
  return std::any_of(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.prefix ? path.substr(0, r.pattern.size()) == r.pattern : path == r.pattern;
  });
}

awaitable<Response> Router::dispatch(Request& request, RequestContext& context) const {
  std::string allow;
  const Route* route = find(request.path, request.method, &allow);
  Handler handler;
  if (route) {
    handler = route->handler;
  } else if (!allow.empty()) {
    Response r = Response::text(405, "method not allowed");
    r.headers.set("Allow", std::string(trim(allow)));
    co_return r;
  } else if (fallback_) {
    handler = fallback_;
  } else {
    co_return Response::text(404, "not found");
  }
  try {
    co_return co_await handler(request, context);
  } catch (const std::exception& e) {
    spdlog::error("handler for {} {} failed: {}", request.method, request.path, e.what());
  }
  co_return Response::text(500, "internal server error");
}

}  // namespace wasimoff::http
