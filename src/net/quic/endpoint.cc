#include "net/quic/endpoint.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <boost/asio/post.hpp>
#include <stdexcept>

#include "common/logging.h"

namespace wasimoff::quic {

Endpoint::Endpoint(asio::io_context& io, EndpointOptions options)
    : io_(io), options_(std::move(options)), socket_(io.get_executor()), secret_(32) {
  gnutls_rnd(GNUTLS_RND_KEY, secret_.data(), secret_.size());
  reset_tokens_ = static_cast<double>(options_.stateless_resets_per_second);
  reset_refill_ = std::chrono::steady_clock::now();
}

Endpoint::~Endpoint() {
  // Connections may outlive us through their applications; make sure none calls back.
  auto conns = connections_;
  for (auto& [raw, conn] : conns) conn->abandon("endpoint destroyed");
  connections_.clear();
  socket_.close();
}

void Endpoint::start() {
  if (!options_.certificate) throw std::runtime_error(options_.name + ": no certificate source");
  if (!options_.make_application) throw std::runtime_error(options_.name + ": no application");
  socket_.bind_server(options_.host, options_.port);
  running_ = true;
  stopped_ = std::make_shared<OneShotEvent>(io_.get_executor());
  spawn_logged(io_.get_executor(), receive_loop(), "quic receive loop");
  spdlog::info("[{}] listening on UDP {}", options_.name, socket_.local_address().to_string());
}

awaitable<void> Endpoint::receive_loop() {
  auto batch = std::make_unique<UdpSocket::Batch>();
  auto stopped = stopped_;
  while (running_) {
    boost::system::error_code ec;
    co_await socket_.asio().async_wait(asio::ip::udp::socket::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !running_) break;
    // At most 4 batches (64 datagrams), then yield so timers and application work interleave
    // with input. A batch that came back short drained the socket: no read that ends in EAGAIN.
    for (int round = 0; round < 4 && running_; ++round) {
      const bool more = socket_.receive_batch(*batch);
      for (std::size_t i = 0; i < batch->size() && running_; ++i)
        handle_datagram(batch->local(i), batch->remote(i), batch->data(i));
      if (!more) break;
    }
  }
  stopped->set();
}

void Endpoint::handle_datagram(const Address& local, const Address& remote,
                               std::span<const std::uint8_t> data) {
  ngtcp2_version_cid vc;
  const int rv =
      ngtcp2_pkt_decode_version_cid(&vc, data.data(), data.size(), Connection::kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(local, remote, {vc.dcid, vc.dcidlen}, {vc.scid, vc.scidlen});
    return;
  }
  if (rv != 0) {
    ++stats_.dropped;
    return;
  }
  const std::string dcid(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen);
  if (auto it = cids_.find(dcid); it != cids_.end()) {
    it->second->on_datagram(local, remote, data);
    return;
  }
  if (data[0] & 0x80) {
    accept(local, remote, data);
  } else {
    send_stateless_reset(local, remote, {vc.dcid, vc.dcidlen}, data.size());
  }
}

std::shared_ptr<const ServerCredentials> Endpoint::credentials() {
  auto pair = options_.certificate();
  if (!pair) throw std::runtime_error("no certificate available");
  if (pair != current_pair_ || !current_creds_) {
    current_creds_ = std::make_shared<ServerCredentials>(pair);
    current_pair_ = pair;
  }
  return current_creds_;
}

void Endpoint::accept(const Address& local, const Address& remote,
                      std::span<const std::uint8_t> data) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data.data(), data.size()) != 0) {
    ++stats_.dropped;
    return;
  }
  const std::string ip = remote.ip();
  if (shutting_down_ || connections_.size() >= options_.max_connections ||
      per_ip_[ip] >= options_.max_connections_per_ip) {
    if (per_ip_[ip] == 0) per_ip_.erase(ip);
    refuse(local, remote, hd);
    return;
  }
  std::shared_ptr<Connection> conn;
  try {
    conn = Connection::accept(io_.get_executor(), *this, options_.connection, credentials(),
                              options_.alpn, hd, local, remote);
    conn->set_application(options_.make_application(conn));
  } catch (const std::exception& e) {
    spdlog::warn("[{}] cannot accept connection from {}: {}", options_.name, remote.to_string(),
                 e.what());
    if (per_ip_[ip] == 0) per_ip_.erase(ip);
    if (conn) conn->abandon(e.what());
    return;
  }
  ++stats_.accepted;
  ++per_ip_[ip];
  ip_of_[conn.get()] = ip;
  connections_[conn.get()] = conn;
  conn->on_datagram(local, remote, data);
}

void Endpoint::refuse(const Address& local, const Address& remote, const ngtcp2_pkt_hd& hd) {
  ++stats_.refused;
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  static constexpr char kReason[] = "server busy";
  const auto n = ngtcp2_crypto_write_connection_close(
      buf, sizeof buf, hd.version, &hd.scid, &hd.dcid, NGTCP2_CONNECTION_REFUSED,
      reinterpret_cast<const std::uint8_t*>(kReason), sizeof kReason - 1);
  if (n > 0) send_packet(local, remote, {buf, static_cast<std::size_t>(n)});
}

void Endpoint::send_version_negotiation(const Address& local, const Address& remote,
                                        std::span<const std::uint8_t> dcid,
                                        std::span<const std::uint8_t> scid) {
  ++stats_.version_negotiations;
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  std::uint8_t unused = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  // The reply swaps the connection IDs (RFC 9000 §17.2.1).
  const auto n =
      ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, unused, scid.data(), scid.size(),
                                           dcid.data(), dcid.size(), versions, std::size(versions));
  if (n > 0) send_packet(local, remote, {buf, static_cast<std::size_t>(n)});
}

void Endpoint::send_stateless_reset(const Address& local, const Address& remote,
                                    std::span<const std::uint8_t> dcid, std::size_t received_size) {
  // A reset must be shorter than what triggered it (no loops between two endpoints) and long
  // enough to look like a short-header packet (RFC 9000 §10.3).
  constexpr std::size_t kMinReset =
      NGTCP2_MIN_STATELESS_RESET_RANDLEN + 1 + NGTCP2_STATELESS_RESET_TOKENLEN;
  if (received_size <= kMinReset || dcid.size() != Connection::kCidLength) {
    ++stats_.dropped;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  const double rate = static_cast<double>(options_.stateless_resets_per_second);
  reset_tokens_ = std::min(
      rate, reset_tokens_ + rate * std::chrono::duration<double>(now - reset_refill_).count());
  reset_refill_ = now;
  if (reset_tokens_ < 1.0) {
    ++stats_.dropped;
    return;
  }
  reset_tokens_ -= 1.0;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, dcid.data(), dcid.size());
  std::uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret_.data(), secret_.size(), &cid) !=
      0)
    return;
  const std::size_t randlen =
      std::min<std::size_t>(received_size - 1 - NGTCP2_STATELESS_RESET_TOKENLEN - 1, 40);
  std::uint8_t rand[64];
  gnutls_rnd(GNUTLS_RND_NONCE, rand, randlen);
  std::uint8_t buf[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  const auto n = ngtcp2_pkt_write_stateless_reset(buf, sizeof buf, token, rand, randlen);
  if (n > 0) {
    ++stats_.stateless_resets;
    send_packet(local, remote, {buf, static_cast<std::size_t>(n)});
  }
}

Endpoint::SendResult Endpoint::send_packet(const Address& local, const Address& remote,
                                           std::span<const std::uint8_t> packet) {
  switch (socket_.send(local, remote, packet)) {
    case UdpSocket::SendResult::kSent:
      return SendResult::kSent;
    case UdpSocket::SendResult::kWouldBlock:
      return SendResult::kWouldBlock;
    case UdpSocket::SendResult::kFailed:
      break;
  }
  return SendResult::kFailed;  // e.g. unreachable peer: QUIC treats it as loss
}

void Endpoint::wait_writable(Connection& conn) {
  blocked_.insert(&conn);
  if (waiting_writable_ || !running_) return;
  waiting_writable_ = true;
  socket_.asio().async_wait(asio::ip::udp::socket::wait_write, [this](boost::system::error_code) {
    waiting_writable_ = false;
    auto blocked = std::move(blocked_);
    blocked_.clear();
    for (auto* c : blocked)
      if (auto it = connections_.find(c); it != connections_.end()) it->second->resume_writing();
  });
}

void Endpoint::associate_cid(std::string_view cid, Connection& conn) {
  cids_[std::string(cid)] = &conn;
}

void Endpoint::dissociate_cid(std::string_view cid) {
  auto it = cids_.find(std::string(cid));
  if (it != cids_.end()) cids_.erase(it);
}

void Endpoint::connection_finished(Connection& conn) {
  blocked_.erase(&conn);
  if (auto it = ip_of_.find(&conn); it != ip_of_.end()) {
    if (auto p = per_ip_.find(it->second); p != per_ip_.end() && --p->second == 0) per_ip_.erase(p);
    ip_of_.erase(it);
  }
  auto it = connections_.find(&conn);
  if (it == connections_.end()) return;
  // Release from the loop: we may be inside a call into the connection.
  asio::post(io_, [keep = std::move(it->second)] {});
  connections_.erase(it);
}

awaitable<void> Endpoint::shutdown(std::chrono::milliseconds drain) {
  if (!running_) co_return;
  shutting_down_ = true;
  {
    auto conns = connections_;
    for (auto& [raw, conn] : conns) {
      (void)raw;
      conn->notify_shutdown();
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (!connections_.empty() && std::chrono::steady_clock::now() < deadline)
    co_await sleep_for(std::chrono::milliseconds(20));
  {
    auto conns = connections_;
    for (auto& [raw, conn] : conns) {
      (void)raw;
      conn->close(options_.shutdown_error_code, "server shutting down");
    }
  }
  // Let the close packets go out, then forget everything.
  co_await sleep_for(std::chrono::milliseconds(50));
  {
    auto conns = connections_;
    for (auto& [raw, conn] : conns) {
      (void)raw;
      conn->abandon("server shut down");
    }
  }
  running_ = false;
  socket_.close();
  if (stopped_) co_await stopped_->wait();
  spdlog::info("[{}] stopped", options_.name);
}

}  // namespace wasimoff::quic
