#include "broker/api/socket_routes.h"

#include <spdlog/spdlog.h>

#include <boost/beast/websocket/rfc6455.hpp>

#include "broker/api/client_methods.h"
#include "broker/api/provider_admission.h"
#include "common/strings.h"
#include "contract/contract.h"
#include "protocol/messenger.h"

namespace wasimoff::broker {

namespace {

// Answers requests that cannot become a WebSocket (docs/protocol.md §6, last check).
std::optional<http::Response> check_upgrade(http::UpgradeContext& up) {
  namespace bhttp = boost::beast::http;
  if (up.request.method != "GET" && up.request.method != "HEAD") {
    auto r = http::Response::text(405, "method not allowed");
    r.headers.set("Allow", "GET");
    return r;
  }
  if (!up.raw.count(bhttp::field::upgrade)) {
    auto r = http::Response::text(426, "this endpoint needs a WebSocket upgrade");
    r.headers.set("Upgrade", "websocket");
    return r;
  }
  if (!boost::beast::websocket::is_upgrade(up.raw) ||
      up.raw[bhttp::field::sec_websocket_key].empty() ||
      up.raw[bhttp::field::sec_websocket_version] != "13")
    return http::Response::text(400, "invalid WebSocket upgrade request");
  return std::nullopt;
}

// The code travels in Envelope.code; the text keeps the "<code>: <message>" form older clients
// parse.
protocol::Reply fail(const Status& e) {
  return protocol::Reply::fail(Status{e.code(), e.to_string()});
}

// The HTTP answer to a provider that admit_provider() refused.
http::Response refusal(const Status& why) {
  if (why.code() == StatusCode::kUnauthenticated) return AccessPolicy::unauthorized();
  return http::Response::text(http_status(why.code()), why.message());
}

}  // namespace

void serve_client_socket(asio::any_io_executor ex, std::unique_ptr<protocol::Transport> transport,
                         TaskService& tasks) {
  std::string remote = transport->remote_address();
  protocol::Messenger::Options mo;
  mo.name = "client " + remote;
  mo.disconnect_error = "client disconnected";
  auto messenger = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
  // Tasks hold the messenger's closed() event as their "client gone" signal; the messenger lives
  // as long as a handler coroutine or the reader holds it.
  std::weak_ptr<protocol::Messenger> weak = messenger;
  auto client = [weak, remote]() {
    ClientContext c;
    c.requester = remote;
    if (auto m = weak.lock()) c.gone = &m->closed();
    return c;
  };
  using protocol::Reply;
  for_each_client_method([&](const auto& method) {
    using Request = typename std::decay_t<decltype(method)>::Request;
    messenger->serve<Request>([&tasks, client, weak, &method](Request& req) -> awaitable<Reply> {
      auto keep = weak.lock();  // the messenger outlives this handler's reply
      auto out = co_await method.call(tasks, std::move(req), client());
      if (!out) co_return fail(out.error());
      co_return Reply::with(std::move(*out));
    });
  });
  messenger->serve<v1::Ping>(
      [](v1::Ping&) -> awaitable<Reply> { co_return Reply::with(v1::Ping()); });
  messenger->on_event([remote](const google::protobuf::Message& m) {
    spdlog::debug("client {}: ignoring event {}", remote, m.GetDescriptor()->full_name());
  });
  messenger->start();
  spdlog::debug("client socket {} opened", remote);
}

void register_socket_routes(http::HttpServer& server, SocketRoutesOptions options) {
  server.add_upgrade_route(
      std::string(contract::paths::kProviderWebSocket),
      [options](http::UpgradeContext& up) -> awaitable<std::optional<http::Response>> {
        auto admitted = admit_provider(up.request, options.access, ProviderLink::kWebSocket);
        if (!admitted) co_return refusal(admitted.error());
        if (auto bad = check_upgrade(up)) co_return bad;
        auto transport = co_await websocket::accept(up, options.transport);
        if (transport) options.registry.connect(std::move(transport), std::move(*admitted));
        co_return std::nullopt;
      });
  server.add_upgrade_route(
      "/api/client/ws",
      [options](http::UpgradeContext& up) -> awaitable<std::optional<http::Response>> {
        if (!options.access.client_ok(up.request)) co_return AccessPolicy::unauthorized();
        if (auto bad = check_upgrade(up)) co_return bad;
        auto ex = co_await asio::this_coro::executor;
        auto transport = co_await websocket::accept(up, options.transport);
        if (transport) serve_client_socket(ex, std::move(transport), options.tasks);
        co_return std::nullopt;
      });
}

}  // namespace wasimoff::broker
