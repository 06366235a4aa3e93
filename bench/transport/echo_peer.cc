#include "echo_peer.h"

#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <future>

#include "common/strings.h"
#include "net/http/client.h"
#include "net/websocket/websocket_transport.h"
#include "net/webtransport/client.h"

namespace wasimoff::bench {

using namespace std::chrono_literals;

namespace {

template <typename T>
T wait_bounded(std::future<T>& f, std::chrono::milliseconds limit, const std::string& what) {
  if (f.wait_for(limit) != std::future_status::ready)
    throw std::runtime_error(what + ": no result within the time limit");
  return f.get();
}

}  // namespace

EchoPeer::EchoPeer(std::string broker_url, std::string transport, std::string name,
                   std::uint32_t concurrency)
    : broker_(std::move(broker_url)),
      transport_(std::move(transport)),
      name_(std::move(name)),
      concurrency_(concurrency),
      guard_(asio::make_work_guard(io_)) {
  thread_ = std::thread([this] { io_.run(); });
  auto connected = asio::co_spawn(io_, connect(), asio::use_future);
  try {
    wait_bounded(connected, 15s, "connecting over " + transport_);
  } catch (...) {
    guard_.reset();
    io_.stop();
    thread_.join();
    throw;
  }
}

EchoPeer::~EchoPeer() {
  auto closed = asio::co_spawn(io_, close(), asio::use_future);
  closed.wait_for(5s);
  guard_.reset();
  // Let the transport finish its closing handshake; stop the loop if it takes too long.
  auto finished = std::async(std::launch::async, [this] { thread_.join(); });
  if (finished.wait_for(3s) != std::future_status::ready) io_.stop();
  finished.wait();
}

awaitable<BrokerEndpoints> discover_broker(std::string broker_url, std::string transport) {
  BrokerEndpoints out;
  out.http = std::move(broker_url);
  if (transport != "webtransport") co_return out;
  auto ex = co_await asio::this_coro::executor;
  // Every argument named: GCC 12 destroys braced/defaulted by-value arguments of a coroutine
  // call inside co_await twice (fetch's defaulted Headers and ClientOptions included).
  http::Headers headers;
  http::ClientOptions options;
  std::string method = "GET", url = out.http + "/api/broker/v1/config", body;
  auto res = co_await http::fetch(ex, std::move(method), std::move(url), std::move(headers),
                                  std::move(body), std::move(options));
  if (res.status != 200)
    throw std::runtime_error("broker config: HTTP " + std::to_string(res.status));
  auto doc = boost::json::parse(res.body).as_object();
  if (!doc.contains("transport")) throw std::runtime_error("the broker offers no WebTransport URL");
  out.webtransport = std::string(doc.at("transport").as_string());
  if (doc.contains("certhash")) out.certhash = std::string(doc.at("certhash").as_string());
  co_return out;
}

awaitable<std::unique_ptr<protocol::Transport>> connect_provider(BrokerEndpoints endpoints,
                                                                 std::string transport,
                                                                 std::string name,
                                                                 std::string user_agent) {
  auto ex = co_await asio::this_coro::executor;
  std::string query = "?id=" + percent_encode(name);
  if (transport == "webtransport") {
    if (endpoints.webtransport.empty())
      throw std::runtime_error("the broker offers no WebTransport URL");
    webtransport::ClientOptions wo;
    wo.url = endpoints.webtransport + query;
    wo.certhash = endpoints.certhash;
    wo.user_agent = user_agent;
    co_return co_await webtransport::connect(ex, std::move(wo));
  }
  if (transport == "websocket") {
    auto origin = http::Url::parse(endpoints.http);
    if (!origin) throw std::runtime_error("not an http URL: " + endpoints.http);
    websocket::ConnectOptions co;
    co.headers.set("User-Agent", user_agent);
    std::string url = "ws://" + origin->authority() + "/api/provider/ws" + query;
    co_return co_await websocket::connect(ex, std::move(url), std::move(co));
  }
  throw std::runtime_error("unknown transport " + transport);
}

void serve_echo(protocol::Messenger& messenger, std::function<void(EchoRequest)> seen) {
  auto note = std::make_shared<std::function<void(EchoRequest)>>(std::move(seen));
  messenger.serve<v1::Filesystem::Listing::Request>(
      [note](v1::Filesystem::Listing::Request&) -> awaitable<protocol::Reply> {
        if (*note) (*note)(EchoRequest::kListing);
        co_return protocol::Reply::with(v1::Filesystem::Listing::Response());
      });
  messenger.serve<v1::Ping>([note](v1::Ping&) -> awaitable<protocol::Reply> {
    if (*note) (*note)(EchoRequest::kPing);
    co_return protocol::Reply::with(v1::Ping());
  });
  messenger.serve<v1::Task::Cancel>([note](v1::Task::Cancel& c) -> awaitable<protocol::Reply> {
    if (*note) (*note)(EchoRequest::kCancel);
    co_return protocol::Reply::with(c);
  });
  messenger.serve<v1::Task::Wasip1::Request>(
      [note](v1::Task::Wasip1::Request& r) -> awaitable<protocol::Reply> {
        if (*note) (*note)(EchoRequest::kTask);
        v1::Task::Wasip1::Response out;
        *out.mutable_info() = r.info();
        out.mutable_ok()->set_status(0);
        out.mutable_ok()->set_stdout(std::move(*r.mutable_params()->mutable_stdin()));
        co_return protocol::Reply::with(std::move(out));
      });
}

awaitable<void> EchoPeer::connect() {
  auto ex = co_await asio::this_coro::executor;
  auto endpoints = co_await discover_broker(broker_, transport_);
  std::string transport_name = transport_, name = name_, user_agent = "wasimoff-bench-transport";
  auto transport = co_await connect_provider(std::move(endpoints), std::move(transport_name),
                                             std::move(name), std::move(user_agent));
  kind_ = std::string(transport->kind());

  protocol::Messenger::Options mo;
  mo.name = "broker";
  mo.disconnect_error = "broker disconnected";
  messenger_ = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
  serve_echo(*messenger_, [this](EchoRequest r) {
    if (r == EchoRequest::kTask) ++answered_;
  });
  messenger_->start();
  v1::Event::ProviderResources resources;
  resources.set_concurrency(concurrency_);
  resources.set_tasks(0);
  messenger_->send_event(resources);
}

awaitable<std::vector<double>> EchoPeer::pings(int count) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = co_await messenger_->call(v1::Ping(), 10s);
    if (!r.ok()) throw std::runtime_error("ping failed: " + r.error());
    out.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  co_return out;
}

std::vector<double> EchoPeer::ping_round_trips(int count) {
  auto f = asio::co_spawn(io_, pings(count), asio::use_future);
  return wait_bounded(f, std::chrono::milliseconds(10'000LL * (count + 1)), "pings");
}

awaitable<void> EchoPeer::close() {
  if (!messenger_) co_return;
  co_await messenger_->flush(2s);
  messenger_->close(protocol::CloseCode::kNormal, "bye!");
  messenger_.reset();
}

}  // namespace wasimoff::bench
