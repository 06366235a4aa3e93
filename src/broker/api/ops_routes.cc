#include "broker/api/ops_routes.h"

#include <boost/json.hpp>
#include <stdexcept>
#include <utility>

#include "broker/api/access_policy.h"
#include "broker/metrics/exposition.h"
#include "common/build_info.h"
#include "common/strings.h"
#include "contract/contract.h"

namespace wasimoff::broker {

namespace json = boost::json;

namespace {

// Wraps an already computed response for the Router's coroutine interface.
awaitable<http::Response> ready(http::Response response) {
  co_return response;
}

using Method = http::Response (OpsRoutes::*)(const http::Request&) const;

http::Handler bind(std::shared_ptr<const OpsRoutes> routes, Method method) {
  // Not a coroutine lambda: the closure is not needed once the call returned the awaitable.
  return [routes = std::move(routes), method](http::Request& request, http::RequestContext&) {
    return ready(((*routes).*method)(request));
  };
}

std::string default_debug_state() {
  json::object state;
  state["providers"] = json::array();
  state["queue_length"] = 0;
  state["tasks_in_backoff"] = 0;
  return json::serialize(state);
}

}  // namespace

std::string version_json() {
  json::object v;
  v["package"] = "wasimoff-broker";
  v["version"] = build_version();
  v["revision"] = build_revision();
  v["compiler"] = build_compiler();
  return json::serialize(v);
}

OpsRoutes::OpsRoutes(Options options) : options_(std::move(options)) {
  if (options_.metrics_enabled && !options_.metrics)
    throw std::invalid_argument(
        "OpsRoutes: metrics are enabled (WASIMOFF_METRICS=true) but no BrokerMetrics was given");
}

http::Response OpsRoutes::healthz(const http::Request&) const {
  return http::Response::text(200, "OK");
}

http::Response OpsRoutes::version(const http::Request&) const {
  return http::Response::json(200, version_json());
}

http::Response OpsRoutes::metrics(const http::Request&) const {
  if (!options_.metrics_enabled) return http::Response::text(404, "not found");
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", std::string(metrics::kExpositionContentType));
  r.body = options_.metrics->render();
  return r;
}

http::Response OpsRoutes::debug_state(const http::Request&) const {
  if (!options_.debug_enabled) return http::Response::text(404, "not found");
  auto r = http::Response::json(
      200, options_.debug_state ? options_.debug_state() : default_debug_state());
  r.headers.set("Cache-Control", "no-store");
  return r;
}

http::Response OpsRoutes::config(const http::Request& request) const {
  if (request.method == "OPTIONS") return AccessPolicy::public_preflight(request);
  json::object doc;
  doc["transport"] = options_.transport_url;
  if (options_.certhash) {
    if (auto hash = options_.certhash(); hash && !hash->empty()) doc["certhash"] = to_lower(*hash);
  }
  if (options_.max_message_size > 0) doc["maxMessageSize"] = options_.max_message_size;
  // This Broker understands ProviderCapabilities (a wasimoff v1 Broker would close the
  // connection on it), so providers may send it.
  if (options_.provider_capabilities) doc["capabilities"] = true;
  auto r = http::Response::json(200, json::serialize(doc));
  r.headers.set("Cache-Control", "no-store");
  AccessPolicy::apply_public_cors(r);
  return r;
}

void register_ops_routes(http::Router& router, OpsRoutes::Options options) {
  auto routes = std::make_shared<const OpsRoutes>(std::move(options));
  router.add("GET", "/healthz", bind(routes, &OpsRoutes::healthz));
  router.add("GET", "/api/broker/v1/healthz", bind(routes, &OpsRoutes::healthz));
  router.add("GET", "/api/version", bind(routes, &OpsRoutes::version));
  if (routes->options().metrics_enabled)
    router.add("GET", "/metrics", bind(routes, &OpsRoutes::metrics));
  if (routes->options().debug_enabled)
    router.add("GET", "/debug/state", bind(routes, &OpsRoutes::debug_state));
  router.add("GET,OPTIONS", std::string(contract::paths::kBrokerConfig),
             bind(routes, &OpsRoutes::config));
}

}  // namespace wasimoff::broker
