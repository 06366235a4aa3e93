#include "net/quic/udp_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

namespace wasimoff::quic {
namespace {

TEST(Address, PrintsV4V6AndMappedAddresses) {
  using boost::asio::ip::make_address;
  using boost::asio::ip::udp;
  EXPECT_EQ(Address::from_endpoint(udp::endpoint(make_address("127.0.0.1"), 4443)).to_string(),
            "127.0.0.1:4443");
  EXPECT_EQ(Address::from_endpoint(udp::endpoint(make_address("::1"), 80)).to_string(), "[::1]:80");
  auto mapped = Address::from_endpoint(udp::endpoint(make_address("::ffff:10.1.2.3"), 9));
  EXPECT_EQ(mapped.to_string(), "10.1.2.3:9");
  EXPECT_EQ(mapped.ip(), "10.1.2.3");
}

// Sends `payload` from a fresh socket of `family` to `dest`:port and returns the socket.
int send_from(int family, const char* dest, std::uint16_t port, const std::string& payload) {
  int fd = socket(family, SOCK_DGRAM, 0);
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, dest, &a.sin_addr);
    sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, dest, &a.sin6_addr);
    sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  return fd;
}

std::string receive_on(int fd) {
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  auto n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// The dual-stack server socket reports the address each datagram was sent to and replies from it.
TEST(UdpSocket, DualStackReportsDestinationAddressAndRepliesFromIt) {
  asio::io_context io;
  UdpSocket s(io.get_executor());
  s.bind_server("", 0);
  for (auto [family, dest] : {std::pair{AF_INET, "127.0.0.1"}, std::pair{AF_INET6, "::1"}}) {
    const int client = send_from(family, dest, s.local_port(), "ping");
    std::uint8_t buf[2048];
    Address local, remote;
    std::optional<std::size_t> n;
    for (int i = 0; i < 200 && !n; ++i) {
      n = s.receive(buf, local, remote);
      if (!n) usleep(5000);
    }
    ASSERT_TRUE(n) << dest;
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "ping");
    EXPECT_EQ(local.ip(), dest);
    EXPECT_EQ(remote.ip(), dest);
    const std::string pong = "pong";
    EXPECT_EQ(
        s.send(local, remote, {reinterpret_cast<const std::uint8_t*>(pong.data()), pong.size()}),
        UdpSocket::SendResult::kSent);
    EXPECT_EQ(receive_on(client), "pong") << dest;
    close(client);
  }
}

// recvmmsg batches: every datagram once, in order, with its addresses; a full batch says "maybe
// more", a short one "drained" (so the receive loops make no call that ends in EAGAIN).
TEST(UdpSocket, BatchesReceiveEveryDatagramAndTellWhenDrained) {
  asio::io_context io;
  UdpSocket s(io.get_executor());
  s.bind_server("", 0);
  constexpr int kSent = UdpSocket::Batch::kMaxDatagrams + 5;
  std::vector<int> clients;
  for (int i = 0; i < kSent; ++i) {
    const bool v4 = i % 2 == 0;
    clients.push_back(send_from(v4 ? AF_INET : AF_INET6, v4 ? "127.0.0.1" : "::1", s.local_port(),
                                "datagram " + std::to_string(i)));
  }
  UdpSocket::Batch batch;
  std::vector<std::string> got;
  bool more = true;
  for (int round = 0; round < 400 && (more || static_cast<int>(got.size()) < kSent); ++round) {
    more = s.receive_batch(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto d = batch.data(i);
      got.emplace_back(reinterpret_cast<const char*>(d.data()), d.size());
      EXPECT_EQ(batch.local(i).ip(), batch.remote(i).ip());
      EXPECT_EQ(batch.local(i).port(), s.local_port());
    }
    if (!more && static_cast<int>(got.size()) < kSent) usleep(5000);
  }
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kSent));
  for (int i = 0; i < kSent; ++i) EXPECT_EQ(got[i], "datagram " + std::to_string(i));
  EXPECT_FALSE(s.receive_batch(batch));  // drained
  EXPECT_EQ(batch.size(), 0u);
  for (int fd : clients) close(fd);
}

TEST(UdpSocket, BindFailureNamesTheListener) {
  asio::io_context io;
  UdpSocket a(io.get_executor());
  a.bind_server("127.0.0.1", 0);
  UdpSocket b(io.get_executor());
  try {
    b.bind_server("127.0.0.1", a.local_port());
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(a.local_port())),
              std::string::npos)
        << e.what();
  }
  UdpSocket c(io.get_executor());
  EXPECT_THROW(c.bind_server("not-an-ip", 0), std::runtime_error);
}

}  // namespace
}  // namespace wasimoff::quic
