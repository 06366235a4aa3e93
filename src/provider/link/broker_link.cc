#include "provider/link/broker_link.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <random>

#include "common/strings.h"
#include "contract/contract.h"
#include "net/http/client.h"
#include "net/websocket/websocket_transport.h"
#include "net/webtransport/client.h"
#include "wasimoff/v1/extensions.pb.h"

namespace wasimoff::provider {

using namespace asio::experimental::awaitable_operators;
using protocol::CloseCode;

BrokerLink::BrokerLink(asio::any_io_executor ex, LinkOptions options, TaskHandler& handler,
                       pool::WorkerPool& pool)
    : ex_(ex), options_(std::move(options)), handler_(handler), pool_(pool), stop_requested_(ex) {
  pool_.on_change([this](std::size_t, std::size_t) { announce_resources(); });
}

void BrokerLink::files_changed(const std::vector<std::string>& added,
                               const std::vector<std::string>& removed) {
  if (!messenger_ || messenger_->is_closed()) return;
  v1::Event::FileSystemUpdate update;
  for (const auto& a : added) update.add_added(a);
  for (const auto& r : removed) update.add_removed(r);
  messenger_->send_event(update);
}

void BrokerLink::announce_resources() {
  if (!messenger_ || messenger_->is_closed()) return;
  v1::Event::ProviderResources res;
  res.set_concurrency(draining_ ? 0 : static_cast<std::uint32_t>(pool_.size()));
  res.set_tasks(static_cast<std::uint32_t>(pool_.busy()));
  messenger_->send_event(res);
}

void BrokerLink::announce_capabilities() {
  if (!messenger_ || messenger_->is_closed() || !broker_takes_capabilities_) return;
  v1::ProviderCapabilities caps;
  for (const auto& m : options_.wasi_modules) caps.add_wasi(m);
  caps.set_pyodide(false);
  if (options_.memory_limit > 0) caps.set_memory(options_.memory_limit);
  messenger_->send_event(caps);
}

void BrokerLink::stop() {
  if (++stop_calls_ > 1) {
    spdlog::warn("second stop request: cancelling running tasks");
    handler_.cancel_all("provider shutting down");
  }
  stop_requested_.set();
}

std::string BrokerLink::redact(std::string text) const {
  // Error texts of the HTTP and WebTransport clients may quote a URL that carries the token.
  for (const std::string& secret : {options_.token, percent_encode(options_.token)}) {
    if (secret.empty()) continue;
    for (std::size_t at; (at = text.find(secret)) != std::string::npos;)
      text.replace(at, secret.size(), "(redacted)");
  }
  return text;
}

awaitable<BrokerLink::Discovery> BrokerLink::discover() {
  // Discovery (docs/http-api.md): the WebTransport URL and, for an ephemeral certificate, its
  // hash; and the Broker's message size limit. Fetched before every connection because the
  // certificate rotates.
  http::ClientOptions co;
  co.ca_file = options_.ca_file;
  co.insecure = options_.insecure;
  co.user_agent = options_.user_agent;
  co.connect_timeout = std::chrono::seconds(10);
  co.io_timeout = std::chrono::seconds(10);
  auto res = co_await http::fetch(
      ex_, "GET", options_.broker + std::string(contract::paths::kBrokerConfig), {}, {}, co);
  if (res.status != 200)
    throw std::runtime_error("broker config: HTTP " + std::to_string(res.status));
  boost::system::error_code ec;
  auto doc = boost::json::parse(res.body, ec);
  if (ec || !doc.is_object()) throw std::runtime_error("broker config is not a JSON object");
  const auto& o = doc.as_object();
  Discovery d;
  if (auto* t = o.if_contains("transport"); t && t->is_string())
    d.transport = std::string(t->as_string());
  if (auto* h = o.if_contains("certhash"); h && h->is_string())
    d.certhash = std::string(h->as_string());
  if (auto* m = o.if_contains("maxMessageSize"); m && m->is_number()) {
    auto size = m->to_number<double>(ec);
    // Anything outside the Broker's own range (1 MiB – 1 GiB) is ignored.
    if (!ec && size >= (1 << 20) && size <= (1u << 30))
      d.max_message_size = static_cast<std::uint64_t>(size);
  }
  if (auto* c = o.if_contains("capabilities"); c && c->is_bool()) d.capabilities = c->as_bool();
  co_return d;
}

awaitable<std::unique_ptr<protocol::Transport>> BrokerLink::connect_webtransport(
    const Discovery& d, const std::string& query) {
  if (d.transport.empty()) throw std::runtime_error("broker config has no WebTransport URL");
  webtransport::ClientOptions wo;
  wo.url = d.transport + query;
  wo.certhash = d.certhash;
  wo.ca_file = options_.ca_file;
  wo.user_agent = options_.user_agent;
  co_return co_await webtransport::connect(ex_, wo);
}

awaitable<std::unique_ptr<protocol::Transport>> BrokerLink::connect_websocket(
    const std::string& query) {
  auto origin = http::Url::parse(options_.broker);
  std::string ws_url = std::string(origin->tls() ? "wss://" : "ws://") + origin->authority() +
                       std::string(contract::paths::kProviderWebSocket) + query;
  websocket::ConnectOptions co;
  co.subprotocols = {std::string(websocket::kProtobufSubprotocol)};
  co.headers.set("User-Agent", options_.user_agent);
  // The token goes in the header only, never into a URL (URLs end up in logs).
  if (!options_.token.empty()) co.headers.set("Authorization", "Bearer " + options_.token);
  co.ca_file = options_.ca_file;
  co.insecure = options_.insecure;
  co_return co_await websocket::connect(ex_, ws_url, co);
}

awaitable<std::unique_ptr<protocol::Transport>> BrokerLink::connect() {
  if (!http::Url::parse(options_.broker))
    throw std::runtime_error("invalid broker URL: " + options_.broker);
  std::string query = "?id=" + percent_encode(options_.name);
  // Without discovery (an older Broker, or its config route unreachable) the default limit holds.
  Discovery d;
  std::string why;
  try {
    d = co_await discover();
  } catch (const std::exception& e) {
    why = redact(e.what());
    if (options_.transport == "webtransport") throw std::runtime_error(why);
  }
  handler_.set_message_limit(d.max_message_size);
  // Only a Broker that says so gets ProviderCapabilities (an older one would close).
  broker_takes_capabilities_ = d.capabilities;
  if (options_.transport == "websocket") co_return co_await connect_websocket(query);
  // WebTransport carries the token in the CONNECT's query (browsers cannot set headers there).
  std::string wt_query = query;
  if (!options_.token.empty()) wt_query += "&token=" + percent_encode(options_.token);
  if (options_.transport == "webtransport") co_return co_await connect_webtransport(d, wt_query);
  // auto: WebTransport when the broker offers it, otherwise (or on any failure) WebSocket.
  if (why.empty()) {
    try {
      co_return co_await connect_webtransport(d, wt_query);
    } catch (const std::exception& e) {
      why = redact(e.what());
    }
  }
  spdlog::info("WebTransport unavailable ({}), using WebSocket", why);
  co_return co_await connect_websocket(query);
}

awaitable<void> BrokerLink::serve(std::unique_ptr<protocol::Transport> transport) {
  protocol::Messenger::Options mo;
  mo.name = "broker";
  mo.disconnect_error = "broker disconnected";
  messenger_ = std::make_shared<protocol::Messenger>(ex_, std::move(transport), mo);
  handler_.serve(*messenger_);
  messenger_->on_event([](const google::protobuf::Message& m) {
    if (auto* c = dynamic_cast<const v1::Event::ClusterInfo*>(&m)) {
      spdlog::info("cluster: {} providers", c->providers());
    } else if (auto* t = dynamic_cast<const v1::Event::Throughput*>(&m)) {
      spdlog::debug("throughput: {:.1f} tasks/s overall, {:.1f} yours", t->overall(), t->yours());
    } else if (auto* g = dynamic_cast<const v1::Event::GenericMessage*>(&m)) {
      spdlog::info("broker says: {}", g->message());
    }
  });
  messenger_->start();
  // First message on the channel: our resources (docs/protocol.md §9), then what we can run.
  announce_resources();
  announce_capabilities();
  co_await (messenger_->closed().wait() || stop_requested_.wait());
  if (!messenger_->is_closed()) {
    // Graceful stop: take no new tasks, let running ones finish, then say goodbye.
    draining_ = true;
    announce_resources();
    spdlog::info("stopping: waiting for {} running task(s)", handler_.running());
    auto until = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (handler_.running() > 0 && !messenger_->is_closed() &&
           std::chrono::steady_clock::now() < until)
      co_await sleep_for(std::chrono::milliseconds(50));
    if (handler_.running() > 0) handler_.cancel_all("provider shutting down");
    co_await messenger_->flush(std::chrono::seconds(2));
    messenger_->close(CloseCode::kNormal, "bye!");
    // Let the closing handshake finish before the process winds down (a reset otherwise).
    co_await (messenger_->reader_finished().wait() || sleep_for(std::chrono::seconds(3)));
  }
  spdlog::info("disconnected from broker: {}", messenger_->close_reason());
  messenger_.reset();
}

awaitable<int> BrokerLink::run() {
  std::mt19937 rng(std::random_device{}());
  auto backoff = options_.backoff_min;
  while (!stop_requested_.is_set()) {
    std::string error;
    auto started = std::chrono::steady_clock::now();
    try {
      auto transport = co_await connect();
      spdlog::info("connected to {} via {} as {}", options_.broker, transport->kind(),
                   options_.name);
      co_await serve(std::move(transport));
      if (stop_requested_.is_set()) co_return 0;
      error = "connection lost";
    } catch (const std::exception& e) {
      error = redact(e.what());
    }
    if (!options_.retry) {
      spdlog::error("{} (--no-retry: giving up)", error);
      co_return 1;
    }
    if (std::chrono::steady_clock::now() - started >= options_.backoff_reset)
      backoff = options_.backoff_min;
    // Full jitter within [backoff/2, backoff].
    std::uniform_int_distribution<long> dist(backoff.count() / 2, backoff.count());
    std::chrono::milliseconds wait(dist(rng));
    spdlog::warn("{}; reconnecting in {:.1f} s", error, wait.count() / 1000.0);
    co_await (sleep_for(wait) || stop_requested_.wait());
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
  co_return 0;
}

}  // namespace wasimoff::provider
