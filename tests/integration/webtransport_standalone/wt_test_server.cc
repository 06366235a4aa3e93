// A small server for the WebTransport/HTTP/3 tests: a Router with a few routes and an echo
// on_session. Prints "port <n>" and "certhash <hex>" on stdout once listening; SIGTERM/SIGINT
// run the orderly shutdown and exit 0.
//
// Routes: GET /hello, POST /echo (echoes the body), GET /file (streams --file as a FileRange),
// GET /slow (waits until the client goes away, at most 30 s), GET /stats (peer-gone count,
// sessions seen, open QUIC connections).
#include <CLI/CLI.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/logging.h"
#include "net/tls/certificate.h"
#include "net/webtransport/server.h"

using namespace wasimoff;

int main(int argc, char** argv) {
  CLI::App app{"WebTransport test server"};
  std::string host, cert, key, path = "/transport", token, file, allowed_origin;
  std::uint16_t port = 0;
  std::uint64_t max_message = 1 << 20, max_body = 4 << 20;
  bool debug = false;
  app.add_option("--host", host);
  app.add_option("--port", port);
  app.add_option("--cert", cert);
  app.add_option("--key", key);
  app.add_option("--path", path);
  app.add_option("--token", token, "require ?token=");
  app.add_option("--origin", allowed_origin, "require this Origin (403 otherwise)");
  app.add_option("--max-message-size", max_message);
  app.add_option("--max-body", max_body);
  app.add_option("--file", file, "file served by GET /file");
  app.add_flag("--debug", debug);
  CLI11_PARSE(app, argc, argv);
  setup_logging("wt_test_server", debug);

  std::shared_ptr<const tls::CertificatePair> pair;
  try {
    pair = std::make_shared<tls::CertificatePair>(cert.empty()
                                                      ? tls::generate_ephemeral_certificate()
                                                      : tls::load_certificate_files(cert, key));
  } catch (const std::exception& e) {
    std::cerr << "certificate: " << e.what() << "\n";
    return 2;
  }

  asio::io_context io;
  int peer_gone = 0, sessions = 0;
  webtransport::Server* server_ptr = nullptr;
  http::Router router;
  router.add("GET", "/hello",
             [](http::Request&, http::RequestContext&) -> awaitable<http::Response> {
               co_return http::Response::text(200, "hello over h3");
             });
  router.add("POST", "/echo",
             [](http::Request& r, http::RequestContext&) -> awaitable<http::Response> {
               http::Response resp;
               resp.headers.set("Content-Type", "application/octet-stream");
               resp.body = std::move(r.body);
               co_return resp;
             });
  router.add("GET", "/file",
             [&](http::Request&, http::RequestContext&) -> awaitable<http::Response> {
               std::ifstream in(file, std::ios::binary | std::ios::ate);
               if (file.empty() || !in) co_return http::Response::text(404, "no file");
               http::Response resp;
               resp.body = http::FileRange{file, 0, static_cast<std::uint64_t>(in.tellg())};
               co_return resp;
             });
  router.add("GET", "/slow",
             [&](http::Request&, http::RequestContext& ctx) -> awaitable<http::Response> {
               using namespace asio::experimental::awaitable_operators;
               co_await (ctx.peer_gone().wait() || sleep_for(std::chrono::seconds(30)));
               if (ctx.peer_gone().is_set()) ++peer_gone;
               co_return http::Response::text(200, "slow done");
             });
  router.add(
      "GET", "/stats", [&](http::Request&, http::RequestContext&) -> awaitable<http::Response> {
        const std::size_t connections = server_ptr ? server_ptr->connection_count() : 0;
        co_return http::Response::json(200, "{\"peer_gone\":" + std::to_string(peer_gone) +
                                                ",\"sessions\":" + std::to_string(sessions) +
                                                ",\"connections\":" + std::to_string(connections) +
                                                "}");
      });
  webtransport::ServerOptions opts;
  opts.listen_host = host;
  opts.port = port;
  opts.certificate = [pair] { return pair; };
  opts.session_path = path;
  opts.max_message_size = max_message;
  opts.max_request_body = max_body;
  opts.router = &router;
  opts.server_header = "wt_test_server";
  opts.authorize = [&](const http::Request& r) -> unsigned {
    if (!token.empty() && r.query_param("token").value_or("") != token) return 401;
    if (!allowed_origin.empty() && r.header("origin").value_or("") != allowed_origin) return 403;
    return 200;
  };
  opts.on_session = [&](std::unique_ptr<protocol::Transport> t, const http::Request& connect) {
    ++sessions;
    spdlog::info("session from {} id={}", t->remote_address(),
                 connect.query_param("id").value_or("anonymous"));
    spawn_logged(
        io.get_executor(),
        [](std::unique_ptr<protocol::Transport> t) -> awaitable<void> {
          // Echo every Envelope; an Envelope with error "close:<code>" makes us close with it.
          while (auto env = co_await t->receive()) {
            if (env->error().rfind("close:", 0) == 0) {
              t->close(static_cast<protocol::CloseCode>(std::stoi(env->error().substr(6))),
                       "requested");
              break;
            }
            co_await t->send(*env);
          }
          spdlog::info("session ended: {}", t->end_reason());
        }(std::move(t)),
        "echo session");
  };
  webtransport::Server server(io, opts);
  server_ptr = &server;
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << "port " << server.port() << "\ncerthash " << pair->certhash << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    spawn_logged(
        io.get_executor(),
        [](webtransport::Server& server, asio::io_context& io) -> awaitable<void> {
          co_await server.shutdown();
          io.stop();
        }(server, io),
        "shutdown");
  });
  io.run();
  return 0;
}
