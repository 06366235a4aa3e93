// UDP socket for QUIC with the destination address of every received datagram (IP_PKTINFO /
// IPV6_RECVPKTINFO), so a multi-homed or dual-stack server answers from the address the client
// sent to. Non-blocking; readiness comes from Asio (`async_wait`), the I/O itself is recvmsg /
// sendmsg on the native handle.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/async.h"

namespace wasimoff::quic {

// A socket address (IPv4 or IPv6; IPv4 peers of a dual-stack socket appear v4-mapped).
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  bool empty() const { return length == 0; }
  // "1.2.3.4:5" or "[::1]:5"; v4-mapped IPv6 addresses print as IPv4.
  std::string to_string() const;
  // The IP alone (v4-mapped unmapped), used to count connections per client address.
  std::string ip() const;
  std::uint16_t port() const;

  static Address from_endpoint(const boost::asio::ip::udp::endpoint& ep);
};

class UdpSocket {
 public:
  explicit UdpSocket(asio::any_io_executor ex) : socket_(std::move(ex)) {}

  // Server: binds `host` (IP literal; "" = [::] dual-stack with IPV6_V6ONLY off) and `port`, and
  // enables packet info. Throws std::runtime_error naming the address on failure.
  void bind_server(const std::string& host, std::uint16_t port);
  // Client: binds an ephemeral port of the family of `peer` and connects to it.
  void connect_client(const boost::asio::ip::udp::endpoint& peer);

  enum class SendResult { kSent, kWouldBlock, kFailed };
  // Sends `data` to `remote`, from `local` when set (server side; ignored on a connected socket).
  SendResult send(const Address& local, const Address& remote, std::span<const std::uint8_t> data);

  // Receives one datagram without blocking; nullopt when none is queued (or on a transient
  // error). `local` is the address the datagram was sent to.
  std::optional<std::size_t> receive(std::span<std::uint8_t> buffer, Address& local,
                                     Address& remote);

  // Datagrams received by one receive_batch() call.
  class Batch {
   public:
    static constexpr std::size_t kMaxDatagrams = 16;
    static constexpr std::size_t kDatagramBufferSize = 65536;  // any UDP payload fits
    Batch();
    std::size_t size() const { return count_; }
    std::span<const std::uint8_t> data(std::size_t i) const;
    const Address& local(std::size_t i) const { return local_[i]; }
    const Address& remote(std::size_t i) const { return remote_[i]; }

   private:
    friend class UdpSocket;
    // Allocated without being written: the kernel only touches what it fills (1 MiB per socket
    // would otherwise be resident for each of a fleet's client connections).
    std::unique_ptr<std::uint8_t[]> buffers_;
    std::size_t count_ = 0;
    std::size_t length_[kMaxDatagrams]{};
    Address local_[kMaxDatagrams];
    Address remote_[kMaxDatagrams];
  };
  // Receives up to Batch::kMaxDatagrams datagrams with one recvmmsg() (no blocking); truncated
  // datagrams are dropped. Returns true when the socket may hold more (the batch came back
  // full), false when it was drained — so the caller needs no extra call that ends in EAGAIN.
  bool receive_batch(Batch& batch);

  boost::asio::ip::udp::socket& asio() { return socket_; }
  std::uint16_t local_port() const;
  const Address& local_address() const { return local_; }
  void close();

 private:
  boost::asio::ip::udp::socket socket_;
  bool v6_ = false;
  bool connected_ = false;
  Address local_;  // bound address (client: the connected socket's local address)
};

}  // namespace wasimoff::quic
