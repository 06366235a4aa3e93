// The shared state of one HttpServer (HttpServer::Impl) and the interface the server uses to
// drain and close its connections (ConnectionBase). Internal to the files of the HTTP/1.1 server
// (server.cc, server_connection*.cc, server_request_reader.cc, server_response_writer.cc).
//
// Invariants: `connections` holds every live connection (a connection inserts itself on
// construction and removes itself in its destructor through connection_finished); `per_address`
// counts live connections per client address, upgraded WebSockets included (address slots);
// `all_closed` is set once draining and the last connection is gone.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/async.h"
#include "net/http/server.h"

namespace wasimoff::http {

class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Graceful: close now when idle, otherwise after the in-flight response.
  virtual void drain() = 0;
  virtual void force_close() = 0;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const Router& router, ServerOptions options)
      : io(io), router(router), options(std::move(options)), all_closed(io.get_executor()) {}

  asio::io_context& io;
  const Router& router;
  ServerOptions options;
  std::map<std::string, UpgradeHandler> upgrades;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
  std::list<ConnectionBase*> connections;
  std::unordered_map<std::string, std::size_t> per_address;  // open connections by client IP
  bool draining = false;
  OneShotEvent all_closed;
  // Refusals are logged at most every 10 s (a flood must not flood the log).
  std::chrono::steady_clock::time_point next_refusal_log{};
  std::size_t refusals_unlogged = 0;

  // Counts one connection of `address` for as long as the returned slot lives.
  std::shared_ptr<void> take_address_slot(const std::string& address);
  void log_refusal(const std::string& what);
  awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);
  void connection_finished(std::list<ConnectionBase*>::iterator it) {
    connections.erase(it);
    if (draining && connections.empty()) all_closed.set();
  }
};

}  // namespace wasimoff::http
