// Operational routes (docs/http-api.md §7, §8):
//
//   GET|HEAD /healthz, /api/broker/v1/healthz   200 text/plain "OK\n"
//   GET|HEAD /api/version                       {"package","version","revision","compiler"}
//   GET      /metrics                           Prometheus text (only when metrics_enabled)
//   GET      /debug/state                       JSON snapshot (only when debug_enabled)
//   GET|HEAD|OPTIONS /api/broker/v1/config      {"transport","certhash"?,"maxMessageSize",
//                                               "capabilities"},
//                                               public CORS
//
// Disabled routes are not registered at all, so their paths end as 404 `not found` (the
// static file handler answers 404 for them too: there are no such files).
// All handlers answer synchronously on the loop; rendering the metrics reads a few small
// /proc files, which is cheap enough for the event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "broker/metrics/broker_metrics.h"
#include "net/http/router.h"

namespace wasimoff::broker {

class OpsRoutes {
 public:
  struct Options {
    // GET /metrics (WASIMOFF_METRICS). When true, `metrics` must be set.
    bool metrics_enabled = true;
    std::shared_ptr<const metrics::BrokerMetrics> metrics;

    // GET /debug/state (WASIMOFF_DEBUG). `debug_state` returns the JSON document (the scheduler
    // supplies it); unset → {"providers":[],"queue_length":0,"tasks_in_backoff":0}. It runs on
    // the loop and must not block.
    bool debug_enabled = false;
    std::function<std::string()> debug_state;

    // GET /api/broker/v1/config: `transport_url` = WASIMOFF_TRANSPORT_URL, published verbatim.
    // `certhash` returns the lower-case hex SHA-256 of the DER certificate the QUIC server
    // presents right now, or nullopt for a certificate loaded from files (then the field is
    // omitted). Called on every request, so rotations show up immediately. Unset → omitted.
    std::string transport_url;
    std::function<std::optional<std::string>()> certhash;
    // `maxMessageSize` of /config: WASIMOFF_MAX_MESSAGE_SIZE in bytes, the largest message a
    // provider may send (its results must fit). Zero = omitted.
    std::uint64_t max_message_size = 0;
    // `capabilities: true` in /config: providers may send ProviderCapabilities.
    bool provider_capabilities = false;
  };

  // Throws std::invalid_argument when metrics are enabled without a BrokerMetrics.
  explicit OpsRoutes(Options options);

  http::Response healthz(const http::Request& request) const;
  http::Response version(const http::Request& request) const;
  http::Response metrics(const http::Request& request) const;
  http::Response debug_state(const http::Request& request) const;
  // GET/HEAD → the document; OPTIONS → the public CORS preflight (204).
  http::Response config(const http::Request& request) const;

  const Options& options() const { return options_; }

 private:
  Options options_;
};

// The body of GET /api/version (from common/build_info.h).
std::string version_json();

// Registers the routes above on `router` (the disabled ones are left out).
void register_ops_routes(http::Router& router, OpsRoutes::Options options);

}  // namespace wasimoff::broker
