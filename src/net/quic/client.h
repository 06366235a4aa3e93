// QUIC client: resolves the server, opens a connected UDP socket, runs one Connection on the
// caller's executor and feeds it datagrams until the connection ends. Used by the native
// provider's WebTransport link and by tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/async.h"
#include "net/quic/connection.h"
#include "net/quic/udp_socket.h"

namespace wasimoff::quic {

struct ClientOptions {
  std::string host;  // DNS name or IP literal
  std::uint16_t port = 0;
  ServerVerification verification;  // certhash or CA; server_name defaults to `host`
  std::string alpn = "h3";
  ConnectionSettings connection;
  std::chrono::milliseconds resolve_timeout{5000};
};

class Client : public ConnectionOwner, public std::enable_shared_from_this<Client> {
 public:
  // Resolves, connects the socket and starts the handshake with `app` attached. Returns at once;
  // the application learns about the handshake through on_ready()/on_closed(). Throws
  // std::runtime_error when the host does not resolve (in time) or the socket cannot be opened.
  static awaitable<std::shared_ptr<Client>> connect(asio::any_io_executor ex, ClientOptions options,
                                                    std::shared_ptr<Application> app);
  ~Client() override;

  Connection& connection() { return *conn_; }
  const std::shared_ptr<Connection>& connection_ptr() const { return conn_; }

  // ConnectionOwner
  SendResult send_packet(const Address& local, const Address& remote,
                         std::span<const std::uint8_t> packet) override;
  void wait_writable(Connection& conn) override;
  void associate_cid(std::string_view, Connection&) override {}
  void dissociate_cid(std::string_view) override {}
  void connection_finished(Connection& conn) override;
  std::span<const std::uint8_t> static_secret() const override { return secret_; }

 private:
  explicit Client(asio::any_io_executor ex) : ex_(ex), socket_(ex) {}
  awaitable<void> receive_loop(std::shared_ptr<Client> self);

  asio::any_io_executor ex_;
  UdpSocket socket_;
  std::shared_ptr<Connection> conn_;
  std::vector<std::uint8_t> secret_ = std::vector<std::uint8_t>(32, 0);
  bool running_ = false;
  bool waiting_writable_ = false;
};

}  // namespace wasimoff::quic
