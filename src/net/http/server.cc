// HttpServer: the listener side of the HTTP/1.1 server — binding (dual-stack by default, IPv4
// fallback), the accept loop with the connection caps (total and per client address, refusals
// logged at most every 10 s), spawning one detail::Connection per accepted socket, and the
// graceful shutdown. The per-connection code is in server_connection.h and its .cc files.
#include "net/http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "net/http/server_connection.h"
#include "net/http/server_internal.h"

namespace wasimoff::http {

using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
using detail::Connection;

std::string format_endpoint(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

namespace {

// The client address without port; IPv4-mapped IPv6 addresses as IPv4.
std::string address_text(asio::ip::address addr) {
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  return addr.to_string();
}

}  // namespace

std::shared_ptr<void> HttpServer::Impl::take_address_slot(const std::string& address) {
  ++per_address[address];
  std::weak_ptr<Impl> weak = weak_from_this();
  return std::shared_ptr<void>(nullptr, [weak, address](void*) {
    if (auto self = weak.lock()) {
      if (auto it = self->per_address.find(address);
          it != self->per_address.end() && --it->second == 0)
        self->per_address.erase(it);
    }
  });
}

void HttpServer::Impl::log_refusal(const std::string& what) {
  ++refusals_unlogged;
  auto now = Clock::now();
  if (now < next_refusal_log) return;
  spdlog::warn("{}: {} ({} refused since the last such message)", options.name, what,
               refusals_unlogged);
  refusals_unlogged = 0;
  next_refusal_log = now + std::chrono::seconds(10);
}

awaitable<void> HttpServer::Impl::accept_loop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("{}: accept failed: {}", options.name, ec.message());
      co_await sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (draining) continue;  // socket closes when it goes out of scope
    const auto peer = socket.remote_endpoint(ec);
    if (ec) continue;  // already gone
    const std::string address = address_text(peer.address());
    if (connections.size() >= options.max_connections) {
      log_refusal("connection limit (" + std::to_string(options.max_connections) +
                  ") reached, refusing connections");
      continue;
    }
    if (options.max_connections_per_ip > 0) {
      auto it = per_address.find(address);
      if (it != per_address.end() && it->second >= options.max_connections_per_ip) {
        log_refusal("refusing new connections from " + address + ": it holds " +
                    std::to_string(it->second) + ", the per-address limit");
        continue;
      }
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote = format_endpoint(peer);
    auto slot = take_address_slot(address);
    if (options.tls_context) {
      auto ctx = options.tls_context();
      auto conn = std::make_shared<Connection<TlsStream>>(
          self, TlsStream(TcpStream(std::move(socket)), *ctx), remote, std::move(slot));
      // The SSL context must outlive the stream: the coroutine frame keeps both.
      spawn_logged(io.get_executor(), hold(ctx, hold(conn, conn->run())), "https connection");
    } else {
      auto conn = std::make_shared<Connection<TcpStream>>(self, TcpStream(std::move(socket)),
                                                          remote, std::move(slot));
      spawn_logged(io.get_executor(), hold(conn, conn->run()), "http connection");
    }
  }
}

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, std::move(options))) {}

HttpServer::~HttpServer() {
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
}

void HttpServer::add_upgrade_route(std::string path, UpgradeHandler handler) {
  impl_->upgrades[std::move(path)] = std::move(handler);
}

void HttpServer::start() {
  auto& opt = impl_->options;
  std::vector<tcp::endpoint> endpoints;
  if (opt.host.empty()) {
    endpoints.emplace_back(tcp::v6(), opt.port);
  } else {
    error_code ec;
    auto addr = asio::ip::make_address(opt.host, ec);
    if (!ec) {
      endpoints.emplace_back(addr, opt.port);
    } else {
      tcp::resolver resolver(impl_->io);
      auto results = resolver.resolve(opt.host, std::to_string(opt.port), ec);
      if (ec)
        throw std::runtime_error("cannot listen on " + opt.name + " " + opt.host + ":" +
                                 std::to_string(opt.port) + ": " + ec.message());
      for (const auto& r : results)
        if (std::find(endpoints.begin(), endpoints.end(), r.endpoint()) == endpoints.end())
          endpoints.push_back(r.endpoint());
    }
  }
  for (const auto& ep : endpoints) {
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
    error_code ec;
    auto listen_on = [&](const tcp::endpoint& e) {
      acceptor->open(e.protocol(), ec);
      if (ec) return;
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (e.address().is_v6() && opt.host.empty())
        acceptor->set_option(asio::ip::v6_only(false), ec);
      acceptor->bind(e, ec);
      if (ec) return;
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    };
    listen_on(ep);
    if (ec && opt.host.empty() &&
        (ec == asio::error::address_family_not_supported ||
         ec == boost::system::errc::address_not_available)) {
      // No IPv6 on this machine: fall back to IPv4 only.
      acceptor = std::make_unique<tcp::acceptor>(impl_->io);
      ec.clear();
      listen_on(tcp::endpoint(tcp::v4(), opt.port));
    }
    if (ec)
      throw std::runtime_error("cannot listen on " + opt.name + " " + format_endpoint(ep) + ": " +
                               ec.message());
    impl_->acceptors.push_back(std::move(acceptor));
  }
  for (auto& a : impl_->acceptors) {
    spawn_logged(impl_->io.get_executor(), impl_->accept_loop(*a), "http accept loop");
  }
}

std::vector<tcp::endpoint> HttpServer::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& a : impl_->acceptors) {
    error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(ep);
  }
  return out;
}

std::size_t HttpServer::connection_count() const {
  return impl_->connections.size();
}

awaitable<void> HttpServer::shutdown(std::chrono::milliseconds grace) {
  impl_->draining = true;
  for (auto& a : impl_->acceptors) {
    error_code ec;
    a->close(ec);
  }
  if (impl_->connections.empty()) co_return;
  // drain() may destroy nothing synchronously (connections end on their own coroutines), so
  // iterating over a copy is safe.
  auto copy = impl_->connections;
  for (auto* c : copy) c->drain();
  co_await (impl_->all_closed.wait() || sleep_for(grace));
  if (!impl_->connections.empty()) {
    auto rest = impl_->connections;
    for (auto* c : rest) c->force_close();
    co_await (impl_->all_closed.wait() || sleep_for(std::chrono::seconds(1)));
  }
}

}  // namespace wasimoff::http
