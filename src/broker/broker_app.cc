#include "broker/broker_app.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <limits>

#include "broker/api/access_policy.h"
#include "broker/api/cgi_route.h"
#include "broker/api/connect_routes.h"
#include "broker/api/ops_routes.h"
#include "broker/api/provider_admission.h"
#include "broker/api/socket_routes.h"
#include "broker/api/storage_routes.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/providers/provider_registry.h"
#include "broker/storage/open_storage.h"
#include "broker/tasks/scheduler.h"
#include "broker/tasks/task_service.h"
#include "common/build_info.h"
#include "common/strings.h"
#include "net/http/server.h"
#include "net/http/static_files.h"
#include "net/tls/certificate_store.h"
#include "net/tls/ssl_context.h"
#include "net/webtransport/server.h"

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;

namespace {

std::unique_ptr<FileStorage> open_configured_storage(const BrokerConfig& config) {
  try {
    return open_storage(config.filestorage);
  } catch (const std::exception& e) {
    throw ConfigError("WASIMOFF_FILESTORAGE", config.filestorage, e.what());
  }
}

Scheduler::Options scheduler_options(const BrokerConfig& config) {
  Scheduler::Options o;
  o.queue_size = static_cast<std::size_t>(config.queue_size);
  o.attempt_timeout = config.attempt_timeout;
  return o;
}

tls::CertificateStore::Options certificate_options(const BrokerConfig& config) {
  tls::CertificateStore::Options o;
  o.quic_cert_file = config.quic_cert;
  o.quic_key_file = config.quic_key;
  o.http_cert_file = config.http_cert;
  o.http_key_file = config.http_key;
  if (!config.transport_url.host.empty()) o.extra_hosts.push_back(config.transport_url.host);
  return o;
}

}  // namespace

struct BrokerApp::Impl {
  Impl(asio::io_context& io, BrokerConfig cfg)
      : io(io),
        config(std::move(cfg)),
        pool(2),
        certificates(certificate_options(config)),
        storage(open_configured_storage(config)),
        metrics(std::make_shared<metrics::BrokerMetrics>()),
        access(config.client_token, config.provider_token, config.allowed_origins),
        registry(io.get_executor()),
        scheduler(io.get_executor(), registry, scheduler_options(config), observer()),
        tasks(TaskService::Options{*storage, scheduler, pool,
                                   static_cast<std::size_t>(config.queue_size),
                                   config.max_upload_size, config.task_timeout,
                                   config.max_message_size, config.max_job_size}) {
    registry.limits.max_concurrency = static_cast<std::uint32_t>(config.max_provider_concurrency);
    registry.limits.max_message_size = config.max_message_size;
    registry.limits.known_file = [this](const std::string& ref) { return storage->exists(ref); };
    registry.admission.options.concurrency = static_cast<std::size_t>(config.admission_concurrency);
    registry.admission.options.max_wait = config.admission_timeout;
    metrics->set_queue_source([this] {
      return metrics::BrokerMetrics::QueueStats{scheduler.queued(), scheduler.dispatching()};
    });
    metrics->set_provider_source([this] {
      return metrics::BrokerMetrics::ProviderStats{registry.registered().size(),
                                                   registry.total_capacity()};
    });
    build_routes();
    http::ServerOptions so;
    so.name = "http";
    so.host = config.http_listen.host;
    so.port = config.http_listen.port;
    // The server's own cap on any request body; routes apply their stricter limits.
    so.max_body_size = std::max(config.max_upload_size, config.max_message_size) + (64u << 10);
    so.server_header = "wasimoff-broker/" + std::string(build_version());
    so.max_connections_per_ip = static_cast<std::size_t>(config.max_connections_per_ip);
    so.header_timeout = config.request_header_timeout;
    so.observe = [m = metrics](std::string_view method, unsigned status, double s) {
      m->observe_http(method, status, s);
    };
    if (config.http_tls()) {
      so.tls_context = [this] { return ssl_contexts.get(certificates.http_or_quic()); };
    }
    // Every TCP response advertises HTTP/3, which serves the same router (docs/http-api.md §1).
    so.common_headers = [this](http::Headers& h) {
      if (quic_port) h.set("Alt-Svc", "h3=\":" + std::to_string(quic_port) + "\"; ma=2592000");
    };
    http = std::make_unique<http::HttpServer>(io, router, so);
    quic = std::make_unique<webtransport::Server>(io, quic_options(so));
    websocket::TransportOptions wso;
    wso.max_message_size = config.max_message_size;
    register_socket_routes(*http, SocketRoutesOptions{registry, tasks, access, wso});
  }

  webtransport::ServerOptions quic_options(const http::ServerOptions& tcp) {
    webtransport::ServerOptions wo;
    wo.listen_host = config.quic_listen.host;
    wo.port = config.quic_listen.port;
    wo.certificate = [this] { return certificates.quic(); };
    wo.session_path = config.transport_url.path;
    wo.max_message_size = config.max_message_size;
    wo.max_request_body = tcp.max_body_size;
    wo.router = &router;
    wo.server_header = tcp.server_header;
    wo.observe = tcp.observe;
    wo.max_connections_per_ip = tcp.max_connections_per_ip > 0
                                    ? tcp.max_connections_per_ip
                                    : std::numeric_limits<std::size_t>::max();
    // docs/protocol.md §7: the CONNECT passes the provider admission before the session is
    // accepted; its verdict is the HTTP status of the refusal.
    wo.authorize = [this](const http::Request& connect) -> webtransport::ConnectVerdict {
      auto admitted = admit_provider(connect, access, ProviderLink::kWebTransport);
      if (!admitted) return {http_status(admitted.error().code()), admitted.error().message()};
      return 200;
    };
    wo.on_session = [this](std::unique_ptr<protocol::Transport> transport,
                           const http::Request& connect) {
      // authorize() admitted this CONNECT; its answer depends on nothing that changed since.
      auto admitted = admit_provider(connect, access, ProviderLink::kWebTransport);
      if (!admitted) return;  // e.g. the provider token was rotated in between: drop the session
      registry.connect(std::move(transport), std::move(*admitted));
    };
    return wo;
  }

  SchedulerObserver observer() {
    SchedulerObserver o;
    auto m = metrics;
    o.scheduled = [m](double s) { m->task_scheduled(s); };
    o.completed = [m](bool ok, double s) { m->task_completed(ok, s); };
    o.execution = [m](bool ok, double s) { m->task_execution(ok, s); };
    o.retry = [m](int attempt) { m->task_retry(attempt); };
    o.attempt_timed_out = [m] { m->attempt_timed_out(); };
    o.provider_closed_for_timeouts = [m] { m->provider_closed_for_timeouts(); };
    o.module_refused = [m] { m->module_refused(); };
    return o;
  }

  void build_routes() {
    OpsRoutes::Options ops;
    ops.metrics_enabled = config.metrics;
    ops.metrics = metrics;
    ops.debug_enabled = config.debug;
    ops.debug_state = [this] { return debug_state(); };
    ops.transport_url = config.transport_url.text;
    ops.max_message_size = config.max_message_size;
    ops.provider_capabilities = true;
    ops.certhash = [this]() -> std::optional<std::string> {
      auto pair = certificates.quic();
      if (!pair || !pair->ephemeral) return std::nullopt;
      return pair->certhash;
    };
    register_ops_routes(router, ops);
    register_storage_routes(router,
                            StorageRoutes::Options{*storage, pool, config.max_upload_size, access});
    register_connect_routes(router, ConnectRoutesOptions{tasks, access, config.max_message_size});
    register_cgi_route(router, CgiRouteOptions{tasks, access, config.max_upload_size});
    // Everything else under /api/ is 404, never a static file; the rest is the static page.
    router.add("GET,POST,PUT,DELETE,PATCH,OPTIONS", "/api/*",
               [](http::Request&, http::RequestContext&) -> awaitable<http::Response> {
                 co_return http::Response::text(404, "not found");
               });
    router.set_fallback(
        http::make_static_files_handler(http::StaticFilesOptions{config.static_files, &pool}));
  }

  std::string debug_state() const {
    boost::json::object state;
    boost::json::array providers;
    for (const auto& p : registry.registered()) {
      boost::json::object o;
      o["name"] = p->info().name;
      o["address"] = p->info().address;
      o["useragent"] = p->info().user_agent;
      o["transport"] = p->info().transport;
      o["capacity"] = p->capacity();
      o["active"] = p->active;
      o["busy"] = p->announced_busy();
      o["files"] = p->file_count();
      o["capabilities"] = p->caps.describe();
      o["refused_modules"] = p->caps.refusal_count();
      o["send_queue"] = p->messenger().queued_messages();
      if (auto ping = p->ping_average_ms())
        o["ping_ms"] = *ping;
      else
        o["ping_ms"] = nullptr;
      providers.push_back(std::move(o));
    }
    state["providers"] = std::move(providers);
    state["queue"] = scheduler.queued();
    state["backoff"] = scheduler.dispatching();
    state["active"] = scheduler.active();
    state["admission"] = {{"in_flight", registry.admission.in_flight()},
                          {"waiting", registry.admission.waiting()}};
    return boost::json::serialize(state);
  }

  asio::io_context& io;
  BrokerConfig config;
  asio::thread_pool pool;
  tls::CertificateStore certificates;
  tls::ServerSslContexts ssl_contexts;
  std::unique_ptr<FileStorage> storage;
  std::shared_ptr<metrics::BrokerMetrics> metrics;
  AccessPolicy access;
  ProviderRegistry registry;
  Scheduler scheduler;
  TaskService tasks;
  http::Router router;
  std::unique_ptr<http::HttpServer> http;
  std::unique_ptr<webtransport::Server> quic;
  std::uint16_t quic_port = 0;  // set once the QUIC listener serves
};

BrokerApp::BrokerApp(asio::io_context& io, BrokerConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}

BrokerApp::~BrokerApp() {
  impl_->pool.join();
}

void BrokerApp::start() {
  auto& d = *impl_;
  // The missing static directory and a lone "*" origin are among load_broker_config()'s
  // warnings, which main() logs; they are not repeated here.
  for (const auto& line : describe_effective_config(d.config)) spdlog::info("config: {}", line);
  d.http->start();
  d.quic->start();
  d.quic_port = d.quic->port();
  d.registry.start();
  if (d.certificates.quic() && d.certificates.quic()->ephemeral)
    d.certificates.start_rotation(d.io.get_executor());
  for (const auto& url : listen_urls()) spdlog::info("listening on {}", url);
  if (auto pair = d.certificates.quic(); pair && pair->ephemeral)
    spdlog::info("ephemeral QUIC certificate, certhash {}", pair->certhash);
  spdlog::info("wasimoff-broker {} ({}) ready", build_version(), build_revision());
}

std::vector<std::string> BrokerApp::listen_urls() const {
  std::vector<std::string> out;
  std::string scheme = impl_->config.http_tls() ? "https" : "http";
  for (const auto& ep : impl_->http->local_endpoints()) {
    std::string host = http::format_endpoint(ep);
    out.push_back(scheme + "://" + host);
  }
  if (impl_->quic_port)
    out.push_back(
        "quic://" +
        (impl_->config.quic_listen.host.empty() ? "[::]" : impl_->config.quic_listen.host) + ":" +
        std::to_string(impl_->quic_port) + " (HTTP/3, WebTransport at " +
        impl_->config.transport_url.path + ")");
  return out;
}

void BrokerApp::reload_certificates() {
  if (impl_->certificates.reload()) spdlog::info("certificates reloaded");
}

awaitable<void> BrokerApp::shutdown(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  spdlog::info("shutting down");
  d.certificates.stop_rotation();
  d.scheduler.shutdown("broker shutting down");
  auto half = grace / 2;
  d.quic_port = 0;  // stop advertising HTTP/3
  co_await (d.registry.close_all("broker shutting down", half) && d.http->shutdown(grace - half) &&
            d.quic->shutdown());
  // Attempts end once their providers' connections are gone; nothing of the scheduler's may run
  // after the Broker is destroyed.
  co_await d.scheduler.join(std::chrono::seconds(1));
  spdlog::info("shutdown complete");
}

}  // namespace wasimoff::broker
