// HTTP/1.1 server (plain or TLS) on Boost.Beast with one coroutine pair per connection.
//
// Every request is translated to an http::Request and handed to the shared Router, so the TCP
// listener and the HTTP/3 listener serve identical routes (docs/http-api.md §1). WebSocket
// endpoints are the exception: they register an UpgradeHandler that may take over the TCP/TLS
// stream.
//
// Per connection a reader coroutine parses requests while a processor coroutine runs the handler
// and writes the response. Because the reader keeps reading while a handler runs, a client that
// disconnects is noticed at once and the handler's RequestContext::peer_gone() fires (task routes
// cancel their task then). Limits: header section (431), body (413), an idle keep-alive timeout,
// an I/O timeout for any read or write that stops making progress, a TLS handshake timeout, a
// time limit for receiving a request's header, and connection caps (total and per address).
// There is deliberately no overall response timeout: a task may run for hours.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/async.h"
#include "net/http/router.h"

namespace wasimoff::http {

using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
// A connection's stream handed to an UpgradeHandler that takes over the connection.
using AnyStream = std::variant<TcpStream, TlsStream>;
using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct UpgradeContext {
  BeastRequest raw;  // the request as parsed (needed for the WebSocket handshake)
  Request request;   // the same, translated
  // Moves the stream out of the server; after this the server forgets the connection. Call at
  // most once, and only when the handler will complete the handshake itself.
  std::function<AnyStream()> take_stream;
  // The connection's place in the per-address count: whoever takes the stream keeps this as
  // long as the stream lives, so upgraded connections count against the limit too.
  std::shared_ptr<void> address_slot;
};

// Returns the response to send when it does not take the stream (e.g. 401, 403, 426), nullopt
// when it took the stream.
using UpgradeHandler = std::function<awaitable<std::optional<Response>>(UpgradeContext&)>;

struct ServerOptions {
  std::string name = "http";  // for logs and error messages
  std::string host;           // "" = all interfaces (IPv6 + IPv4 dual-stack)
  std::uint16_t port = 0;     // 0 = any free port (tests)
  // When set, every connection is TLS with the context returned for it (so certificate reloads
  // apply to new connections).
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_context;
  std::uint64_t max_body_size = 64ull << 20;
  std::uint32_t max_header_size = 64u << 10;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(120);
  std::chrono::milliseconds io_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  // A request's header section must be complete within this time of its first byte (for the
  // first request of a connection: of the connection's start). Zero = only the idle and I/O
  // timeouts apply. Silent and trickling (slowloris) connections end after this.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
  std::size_t max_connections = 10000;
  // Connections one client address may hold at once (upgraded WebSockets included); further
  // ones are closed at once. Zero = no per-address limit.
  std::size_t max_connections_per_ip = 256;
  std::string server_header;  // value of the `Server` header on every response
  // Extra headers on every response, evaluated per response (e.g. Alt-Svc once HTTP/3 serves).
  std::function<void(Headers&)> common_headers;
  // Called after every response: method, status, seconds from request complete to response sent.
  std::function<void(std::string_view method, unsigned status, double seconds)> observe;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Requests whose path equals `path` (query ignored) go to `handler` instead of the router.
  void add_upgrade_route(std::string path, UpgradeHandler handler);

  // Binds and listens. Throws std::runtime_error naming the listener on failure, e.g.
  // "cannot listen on http [::]:4080: Address already in use".
  void start();

  // Bound addresses (with the real port when 0 was requested).
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;

  // Stops accepting, closes idle connections, lets in-flight requests finish (their responses
  // carry `Connection: close`), and force-closes whatever is left after `grace`.
  awaitable<void> shutdown(std::chrono::milliseconds grace);

  std::size_t connection_count() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// "ip:port" / "[v6]:port"; IPv4-mapped IPv6 addresses are shown as IPv4.
std::string format_endpoint(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace wasimoff::http
