#include "broker/api/cgi_route.h"

#include <set>

#include "broker/api/client_methods.h"
#include "broker/api/shell_words.h"
#include "common/strings.h"
#include "net/http/connect_protocol.h"

namespace wasimoff::broker {

namespace {

constexpr std::string_view kPrefix = "/api/client/run/";

http::Response rpc_error(const Status& e) {
  auto r = http::Response::text(http_status(e.code()), e.message());
  r.headers.set("X-Wasimoff-Error-Code", std::string(e.code_name()));
  if (e.code() == StatusCode::kResourceExhausted) r.headers.set("Retry-After", "1");
  return r;
}

// Builds the task request from the CGI request; returns a response instead on bad input.
std::variant<v1::Task::Wasip1::Request, http::Response> build_request(http::Request& request,
                                                                      std::uint64_t max_upload) {
  auto raw = request.path.substr(kPrefix.size());
  auto wasm = percent_decode(raw);
  if (!wasm || wasm->empty() || wasm->find('/') != std::string::npos)
    return http::Response::text(404, "not found");
  if (request.body.size() > max_upload) return http::Response::text(413, "request body too large");
  v1::Task::Wasip1::Request task;
  auto& params = *task.mutable_params();
  params.mutable_binary()->set_ref(*wasm);
  params.add_args(*wasm);
  if (auto x_args = request.header("X-Args")) {
    auto words = split_shell_words(*x_args);
    if (!words) return http::Response::text(400, "malformatted X-Args: " + words.error().message());
    for (auto& w : *words) params.add_args(std::move(w));
  }
  std::set<std::string> seen;
  for (const auto& [name, value] : request.headers) {
    if (istarts_with(name, "X-Env-") && name.size() > 6) {
      auto key = to_upper(name.substr(6));
      if (seen.insert(key).second) params.add_envs(key + "=" + value);
    } else if (iequals(name, "X-Artifact")) {
      for (auto line : split(value, '\n'))
        if (auto path = trim(line); !path.empty()) params.add_artifacts(std::string(path));
    }
  }
  if (auto len = request.header("Content-Length"))
    params.add_envs("CONTENT_LENGTH=" + std::string(*len));
  if (auto type = request.header("Content-Type"))
    params.add_envs("CONTENT_TYPE=" + std::string(*type));
  if (auto rootfs = request.header("X-RootFS-Ref"); rootfs && !trim(*rootfs).empty())
    params.mutable_rootfs()->set_ref(std::string(trim(*rootfs)));
  params.set_stdin(std::move(request.body));
  return task;
}

}  // namespace

void register_cgi_route(http::Router& router, CgiRouteOptions options) {
  auto handler = [options](http::Request& request,
                           http::RequestContext& ctx) -> awaitable<http::Response> {
    const auto& access = options.access;
    if (request.method == "OPTIONS") co_return access.client_preflight(request);
    if (auto reject = access.client_cors_reject(request)) co_return *reject;
    http::Response response = co_await [&]() -> awaitable<http::Response> {
      if (!access.client_ok(request)) co_return AccessPolicy::unauthorized();
      auto built = build_request(request, options.max_upload_size);
      if (auto* r = std::get_if<http::Response>(&built)) co_return std::move(*r);
      ClientContext client;
      client.requester = request.remote;
      client.gone = &ctx.peer_gone();
      auto out = co_await client_methods::kRunWasip1.call(
          options.tasks, std::move(std::get<v1::Task::Wasip1::Request>(built)), client);
      if (!out) co_return rpc_error(out.error());
      auto& res = *out;
      http::Response r;
      r.headers.set("X-Wasimoff-Task-Id", res.info().id());
      // Provider names are checked at admission; header values are ASCII in any case.
      r.headers.set("X-Wasimoff-Provider", escape_untrusted(res.info().provider(), 256, true));
      if (res.has_error()) {
        r.headers.set("X-Wasimoff-Result", "Error");
        r.headers.set("Content-Type", "text/plain; charset=utf-8");
        r.body = res.error();
        co_return r;
      }
      r.headers.set("X-Wasimoff-Result", "Ok");
      r.headers.set("X-Wasimoff-Status", std::to_string(res.ok().status()));
      if (res.ok().has_artifacts() && !res.ok().artifacts().blob().empty())
        r.headers.set("X-Wasimoff-Artifacts", base64_encode(res.ok().artifacts().blob()));
      r.headers.set("Content-Type", "application/octet-stream");
      r.body = res.ok().stderr() + res.ok().stdout();
      co_return r;
    }();
    access.apply_client_cors(request, response);
    co_return response;
  };
  router.add("POST,OPTIONS", std::string(kPrefix) + "*", handler);
}

}  // namespace wasimoff::broker
