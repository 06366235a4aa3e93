// QUIC server endpoint: one UDP socket (dual-stack by default) on the caller's io_context, a
// connection table keyed by connection ID, version negotiation, rate-limited stateless resets,
// connection limits (total and per client IP), and certificate rotation for new handshakes.
//
// The endpoint knows nothing about HTTP/3: every accepted connection gets an Application from
// `make_application`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/async.h"
#include "net/quic/connection.h"
#include "net/quic/udp_socket.h"
#include "net/tls/certificate.h"

namespace wasimoff::quic {

struct EndpointOptions {
  std::string name = "quic";  // for logs and error messages
  std::string host;           // IP literal; "" = [::] dual-stack
  std::uint16_t port = 0;     // 0 = any free port (tests)
  // Current certificate; called for every new handshake, so rotation applies to new
  // connections only.
  std::function<std::shared_ptr<const tls::CertificatePair>()> certificate;
  std::string alpn = "h3";
  ConnectionSettings connection;
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 100;
  std::size_t stateless_resets_per_second = 100;
  // Application error code for CONNECTION_CLOSE when shutdown() force-closes (H3_NO_ERROR).
  std::uint64_t shutdown_error_code = 0x100;
  std::function<std::shared_ptr<Application>(const std::shared_ptr<Connection>&)> make_application;
};

class Endpoint : public ConnectionOwner {
 public:
  Endpoint(asio::io_context& io, EndpointOptions options);
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Binds and starts receiving. Throws std::runtime_error naming the listener on failure.
  void start();
  // Stops accepting, asks every application to close (Application::on_shutdown), waits up to
  // `drain` for connections to end, force-closes the rest with CONNECTION_CLOSE and closes the
  // socket.
  awaitable<void> shutdown(std::chrono::milliseconds drain);

  std::uint16_t port() const { return socket_.local_port(); }
  std::size_t connection_count() const { return connections_.size(); }
  // Counters for tests and metrics.
  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;  // over a connection limit or during shutdown
    std::uint64_t version_negotiations = 0;
    std::uint64_t stateless_resets = 0;
    std::uint64_t dropped = 0;  // undecodable datagrams
  };
  const Stats& stats() const { return stats_; }

  // ConnectionOwner
  SendResult send_packet(const Address& local, const Address& remote,
                         std::span<const std::uint8_t> packet) override;
  void wait_writable(Connection& conn) override;
  void associate_cid(std::string_view cid, Connection& conn) override;
  void dissociate_cid(std::string_view cid) override;
  void connection_finished(Connection& conn) override;
  std::span<const std::uint8_t> static_secret() const override { return secret_; }

 private:
  awaitable<void> receive_loop();
  void handle_datagram(const Address& local, const Address& remote,
                       std::span<const std::uint8_t> data);
  void accept(const Address& local, const Address& remote, std::span<const std::uint8_t> data);
  void send_version_negotiation(const Address& local, const Address& remote,
                                std::span<const std::uint8_t> dcid,
                                std::span<const std::uint8_t> scid);
  void send_stateless_reset(const Address& local, const Address& remote,
                            std::span<const std::uint8_t> dcid, std::size_t received_size);
  void refuse(const Address& local, const Address& remote, const ngtcp2_pkt_hd& hd);
  std::shared_ptr<const ServerCredentials> credentials();

  asio::io_context& io_;
  EndpointOptions options_;
  UdpSocket socket_;
  std::vector<std::uint8_t> secret_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::unordered_map<std::string, Connection*> cids_;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<Connection*, std::string> ip_of_;
  std::unordered_set<Connection*> blocked_;
  bool waiting_writable_ = false;
  bool running_ = false;
  bool shutting_down_ = false;
  std::shared_ptr<const tls::CertificatePair> current_pair_;
  std::shared_ptr<const ServerCredentials> current_creds_;
  // Token bucket for stateless resets.
  double reset_tokens_ = 0;
  std::chrono::steady_clock::time_point reset_refill_{};
  Stats stats_;
  std::shared_ptr<OneShotEvent> stopped_;
};

}  // namespace wasimoff::quic
