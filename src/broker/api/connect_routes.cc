#include "broker/api/connect_routes.h"

#include <spdlog/spdlog.h>

#include "broker/api/client_methods.h"
#include "net/http/connect_protocol.h"
#include "protocol/codec.h"

namespace wasimoff::broker {

namespace cn = http::connect;
using protocol::Codec;

namespace {

constexpr std::string_view kPrefix = "/api/client/wasimoff.v1.Tasks/";

template <typename Msg>
http::Response ok_response(const Msg& message, Codec codec) {
  http::Response r;
  r.status = 200;
  r.headers.set("Content-Type", std::string(cn::content_type_for(codec)));
  r.body = protocol::encode(message, codec);
  return r;
}

// Decodes the request body into the method's request, calls it, encodes the response.
template <typename Method>
awaitable<http::Response> unary(const Method& method, TaskService& tasks, http::Request& request,
                                Codec codec, ClientContext client) {
  typename Method::Request message;
  if (auto err = protocol::decode(request.body, codec, &message); !err.empty())
    co_return cn::error_response(invalid_argument("malformed request: " + err));
  auto outcome = co_await method.call(tasks, std::move(message), client);
  if (!outcome) co_return cn::error_response(outcome.error());
  co_return ok_response(*outcome, codec);
}

// Serves procedure `name` of the client method table (client_methods.h).
awaitable<http::Response> dispatch(std::string_view name, TaskService& tasks,
                                   http::Request& request, Codec codec, ClientContext client) {
  std::optional<awaitable<http::Response>> call;
  for_each_client_method([&](const auto& method) {
    if (method.name == name) call = unary(method, tasks, request, codec, client);
  });
  co_return co_await std::move(*call);
}

}  // namespace

void register_connect_routes(http::Router& router, ConnectRoutesOptions options) {
  auto handler = [options](http::Request& request,
                           http::RequestContext& ctx) -> awaitable<http::Response> {
    const auto& access = options.access;
    if (request.method == "OPTIONS") co_return access.client_preflight(request);
    if (auto reject = access.client_cors_reject(request)) co_return *reject;
    http::Response response = co_await [&]() -> awaitable<http::Response> {
      if (!access.client_ok(request))
        co_return cn::error_response(Status{StatusCode::kUnauthenticated, "unauthorized"});
      std::string method = request.path.substr(kPrefix.size());
      if (!is_client_method(method))
        co_return cn::error_response(
            unimplemented("unknown procedure wasimoff.v1.Tasks/" + method));
      auto pre = cn::check_request(request, options.max_message_size);
      if (auto* r = std::get_if<http::Response>(&pre)) co_return *r;
      if (auto* e = std::get_if<Status>(&pre)) co_return cn::error_response(*e);
      auto& preamble = std::get<cn::Preamble>(pre);
      ClientContext client;
      client.requester = request.remote;
      client.gone = &ctx.peer_gone();
      if (preamble.timeout) client.deadline = std::chrono::system_clock::now() + *preamble.timeout;
      co_return co_await dispatch(method, options.tasks, request, preamble.codec, client);
    }();
    access.apply_client_cors(request, response);
    co_return response;
  };
  router.add("POST,OPTIONS", std::string(kPrefix) + "*", handler);
}

}  // namespace wasimoff::broker
