#include "net/quic/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wasimoff::quic {

namespace ip = boost::asio::ip;

std::string Address::ip() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (storage.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
      return buf;
    }
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    return buf;
  }
  return "?";
}

std::uint16_t Address::port() const {
  if (storage.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string Address::to_string() const {
  auto host = ip();
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port());
  return host + ":" + std::to_string(port());
}

Address Address::from_endpoint(const ip::udp::endpoint& ep) {
  Address a;
  std::memcpy(&a.storage, ep.data(), ep.size());
  a.length = static_cast<socklen_t>(ep.size());
  return a;
}

void UdpSocket::bind_server(const std::string& host, std::uint16_t port) {
  ip::udp::endpoint ep;
  const std::string shown = (host.empty() ? "[::]" : host) + ":" + std::to_string(port);
  try {
    if (host.empty()) {
      ep = ip::udp::endpoint(ip::udp::v6(), port);
    } else {
      ep = ip::udp::endpoint(ip::make_address(host), port);
    }
  } catch (const std::exception&) {
    throw std::runtime_error("QUIC listener " + shown + ": not an IP address");
  }
  boost::system::error_code ec;
  socket_.open(ep.protocol(), ec);
  if (ec)
    throw std::runtime_error("QUIC listener " + shown +
                             ": cannot open UDP socket: " + ec.message());
  v6_ = ep.address().is_v6();
  const int on = 1, off = 0;
  if (v6_) {
    ::setsockopt(socket_.native_handle(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    ::setsockopt(socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
  }
  // Also on the v6 socket: IPv4 datagrams of a dual-stack socket carry IP_PKTINFO.
  ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  const int bufsize = 4 << 20;
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  socket_.bind(ep, ec);
  if (ec) {
    socket_.close();
    throw std::runtime_error("QUIC listener " + shown + ": cannot bind UDP port: " + ec.message());
  }
  socket_.non_blocking(true);
  local_ = Address::from_endpoint(socket_.local_endpoint());
}

void UdpSocket::connect_client(const ip::udp::endpoint& peer) {
  boost::system::error_code ec;
  socket_.open(peer.protocol(), ec);
  if (!ec) socket_.connect(peer, ec);
  if (ec)
    throw std::runtime_error("cannot open UDP socket to " +
                             Address::from_endpoint(peer).to_string() + ": " + ec.message());
  v6_ = peer.address().is_v6();
  connected_ = true;
  const int bufsize = 4 << 20;
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  socket_.non_blocking(true);
  local_ = Address::from_endpoint(socket_.local_endpoint());
}

std::uint16_t UdpSocket::local_port() const {
  return local_.port();
}

void UdpSocket::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

UdpSocket::SendResult UdpSocket::send(const Address& local, const Address& remote,
                                      std::span<const std::uint8_t> data) {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  if (!connected_) {
    msg.msg_name = const_cast<sockaddr*>(remote.sa());
    msg.msg_namelen = remote.length;
    if (!local.empty()) {
      msg.msg_control = control;
      if (local.storage.ss_family == AF_INET6) {
        msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        auto* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo pi{};
        pi.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&local.storage)->sin6_addr;
        std::memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      } else {
        msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        auto* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo pi{};
        pi.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&local.storage)->sin_addr;
        std::memcpy(CMSG_DATA(cm), &pi, sizeof pi);
      }
    }
  }
  for (;;) {
    const auto n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    if (n >= 0) return SendResult::kSent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return SendResult::kWouldBlock;
    return SendResult::kFailed;
  }
}

namespace {

// The destination address of a received datagram from its IP_PKTINFO / IPV6_PKTINFO: the
// socket's address with the IP the datagram was sent to.
void read_packet_info(msghdr& msg, bool v6, Address& local) {
  for (auto* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_addr = pi.ipi6_addr;
    } else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      if (v6) {  // v4 datagram on a dual-stack socket: keep the socket's family (v4-mapped)
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&local.storage);
        std::memset(&a6->sin6_addr, 0, sizeof a6->sin6_addr);
        a6->sin6_addr.s6_addr[10] = 0xff;
        a6->sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(&a6->sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
      } else {
        reinterpret_cast<sockaddr_in*>(&local.storage)->sin_addr = pi.ipi_addr;
      }
    }
  }
}

constexpr std::size_t kControlSize =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo));

}  // namespace

std::optional<std::size_t> UdpSocket::receive(std::span<std::uint8_t> buffer, Address& local,
                                              Address& remote) {
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  remote = Address{};
  msg.msg_name = &remote.storage;
  msg.msg_namelen = sizeof remote.storage;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[kControlSize];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  if (msg.msg_flags & MSG_TRUNC) return std::nullopt;  // larger than any QUIC datagram we accept
  remote.length = msg.msg_namelen;
  local = local_;
  read_packet_info(msg, v6_, local);
  return static_cast<std::size_t>(n);
}

UdpSocket::Batch::Batch() : buffers_(new std::uint8_t[kMaxDatagrams * kDatagramBufferSize]) {}

std::span<const std::uint8_t> UdpSocket::Batch::data(std::size_t i) const {
  return {buffers_.get() + i * kDatagramBufferSize, length_[i]};
}

bool UdpSocket::receive_batch(Batch& batch) {
  constexpr std::size_t kMax = Batch::kMaxDatagrams;
  mmsghdr msgs[kMax]{};
  iovec iov[kMax];
  alignas(cmsghdr) char control[kMax][kControlSize];
  for (std::size_t i = 0; i < kMax; ++i) {
    iov[i] = {batch.buffers_.get() + i * Batch::kDatagramBufferSize, Batch::kDatagramBufferSize};
    batch.remote_[i] = Address{};
    auto& h = msgs[i].msg_hdr;
    h.msg_name = &batch.remote_[i].storage;
    h.msg_namelen = sizeof batch.remote_[i].storage;
    h.msg_iov = &iov[i];
    h.msg_iovlen = 1;
    h.msg_control = control[i];
    h.msg_controllen = sizeof control[i];
  }
  int n;
  do {
    n = ::recvmmsg(socket_.native_handle(), msgs, kMax, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  batch.count_ = 0;
  if (n <= 0) return false;
  for (int i = 0; i < n; ++i) {
    auto& h = msgs[i].msg_hdr;
    if (h.msg_flags & MSG_TRUNC) continue;  // larger than any QUIC datagram we accept
    const std::size_t k = batch.count_++;
    if (k != static_cast<std::size_t>(i)) {  // close the gap a dropped datagram left
      std::memmove(batch.buffers_.get() + k * Batch::kDatagramBufferSize,
                   batch.buffers_.get() + i * Batch::kDatagramBufferSize, msgs[i].msg_len);
      batch.remote_[k] = batch.remote_[i];
    }
    batch.length_[k] = msgs[i].msg_len;
    batch.remote_[k].length = h.msg_namelen;
    batch.local_[k] = local_;
    read_packet_info(h, v6_, batch.local_[k]);
  }
  return static_cast<std::size_t>(n) == kMax;
}

}  // namespace wasimoff::quic
