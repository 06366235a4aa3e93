#include "net/quic/client.h"

#include <gnutls/crypto.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <stdexcept>

#include "common/logging.h"

namespace wasimoff::quic {

awaitable<std::shared_ptr<Client>> Client::connect(asio::any_io_executor ex, ClientOptions options,
                                                   std::shared_ptr<Application> app) {
  using namespace asio::experimental::awaitable_operators;
  asio::ip::udp::resolver resolver(ex);
  boost::system::error_code ec;
  asio::ip::udp::resolver::results_type results;
  asio::steady_timer deadline(ex, options.resolve_timeout);
  auto which = co_await (resolver.async_resolve(options.host, std::to_string(options.port),
                                                asio::redirect_error(asio::use_awaitable, ec)) ||
                         deadline.async_wait(asio::use_awaitable));
  if (which.index() == 1) throw std::runtime_error("resolving " + options.host + " timed out");
  results = std::get<0>(which);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve " + options.host + ": " +
                             (ec ? ec.message() : std::string("no address")));

  std::shared_ptr<Client> self(new Client(ex));
  gnutls_rnd(GNUTLS_RND_KEY, self->secret_.data(), self->secret_.size());
  const auto peer = results.begin()->endpoint();
  self->socket_.connect_client(peer);
  if (options.verification.server_name.empty()) options.verification.server_name = options.host;
  auto creds = std::make_shared<ClientCredentials>(options.verification);
  self->conn_ = Connection::connect(ex, *self, options.connection, std::move(creds),
                                    options.verification, options.alpn,
                                    self->socket_.local_address(), Address::from_endpoint(peer));
  self->conn_->set_application(std::move(app));
  self->running_ = true;
  spawn_logged(ex, self->receive_loop(self), "quic client receive loop");
  self->conn_->start();
  co_return self;
}

Client::~Client() {
  socket_.close();
}

awaitable<void> Client::receive_loop(std::shared_ptr<Client> self) {
  (void)self;  // keeps the client alive while the connection runs
  auto batch = std::make_unique<UdpSocket::Batch>();
  while (running_) {
    boost::system::error_code ec;
    co_await socket_.asio().async_wait(asio::ip::udp::socket::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !running_) break;
    // As the server's loop (Endpoint::receive_loop): ≤ 64 datagrams, no read ending in EAGAIN.
    for (int round = 0; round < 4 && running_ && conn_; ++round) {
      const bool more = socket_.receive_batch(*batch);
      // A connected socket only sees the server; use the connection's own local address.
      for (std::size_t i = 0; i < batch->size() && running_ && conn_; ++i)
        conn_->on_datagram(socket_.local_address(), batch->remote(i), batch->data(i));
      if (!more) break;
    }
  }
}

Client::SendResult Client::send_packet(const Address& local, const Address& remote,
                                       std::span<const std::uint8_t> packet) {
  switch (socket_.send(local, remote, packet)) {
    case UdpSocket::SendResult::kSent:
      return SendResult::kSent;
    case UdpSocket::SendResult::kWouldBlock:
      return SendResult::kWouldBlock;
    case UdpSocket::SendResult::kFailed:
      break;
  }
  return SendResult::kFailed;
}

void Client::wait_writable(Connection&) {
  if (waiting_writable_ || !running_) return;
  waiting_writable_ = true;
  socket_.asio().async_wait(asio::ip::udp::socket::wait_write,
                            [weak = weak_from_this()](boost::system::error_code) {
                              if (auto self = weak.lock()) {
                                self->waiting_writable_ = false;
                                if (self->conn_) self->conn_->resume_writing();
                              }
                            });
}

void Client::connection_finished(Connection&) {
  running_ = false;
  socket_.close();  // ends the receive loop, which releases its reference to us
}

}  // namespace wasimoff::quic
