// In-process tests of the QUIC endpoint and client with a raw stream echo application (no
// HTTP/3): flow control over more than the windows, certificate rotation, per-IP connection
// limits and the stateless-reset rate limit.
#include "net/quic/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <random>

#include "net/quic/client.h"

namespace wasimoff::quic {
namespace {

using namespace std::chrono_literals;

// Server side: echoes every stream, crediting bytes as it queues them.
class EchoApp : public Application {
 public:
  explicit EchoApp(std::shared_ptr<Connection> c) : conn_(std::move(c)) {}
  void on_ready() override {}
  void on_stream_data(std::int64_t sid, std::span<const std::uint8_t> d, bool fin) override {
    conn_->send(sid, std::string(reinterpret_cast<const char*>(d.data()), d.size()), fin);
    conn_->consume(sid, d.size());
  }
  void on_stream_reset(std::int64_t, std::uint64_t) override {}
  void on_stop_sending(std::int64_t, std::uint64_t) override {}
  void on_stream_closed(std::int64_t) override {}
  void on_send_progress(std::int64_t) override {}
  void on_closed(std::string_view) override {}

 private:
  std::shared_ptr<Connection> conn_;
};

// Client side: collects what comes back on its streams.
class ClientApp : public Application {
 public:
  bool ready = false, closed = false, fin = false;
  std::string received, reason;
  Connection* conn = nullptr;
  void on_ready() override { ready = true; }
  void on_stream_data(std::int64_t sid, std::span<const std::uint8_t> d, bool f) override {
    received.append(reinterpret_cast<const char*>(d.data()), d.size());
    conn->consume(sid, d.size());
    fin = fin || f;
  }
  void on_stream_reset(std::int64_t, std::uint64_t) override {}
  void on_stop_sending(std::int64_t, std::uint64_t) override {}
  void on_stream_closed(std::int64_t) override {}
  void on_send_progress(std::int64_t) override {}
  void on_closed(std::string_view r) override {
    closed = true;
    reason = std::string(r);
  }
};

struct Fixture {
  asio::io_context io;
  std::shared_ptr<const tls::CertificatePair> current =
      std::make_shared<tls::CertificatePair>(tls::generate_ephemeral_certificate());
  std::unique_ptr<Endpoint> endpoint;

  explicit Fixture(std::size_t per_ip = 100) {
    EndpointOptions o;
    o.host = "127.0.0.1";
    o.certificate = [this] { return current; };
    o.max_connections_per_ip = per_ip;
    o.make_application = [](const std::shared_ptr<Connection>& c) {
      return std::make_shared<EchoApp>(c);
    };
    endpoint = std::make_unique<Endpoint>(io, std::move(o));
    endpoint->start();
  }

  // Connects a client pinned to `certhash` and waits for the handshake (or failure).
  awaitable<std::pair<std::shared_ptr<Client>, std::shared_ptr<ClientApp>>> connect(
      std::string certhash, std::string alpn = "h3") {
    ClientOptions o;
    o.alpn = std::move(alpn);
    o.host = "127.0.0.1";
    o.port = endpoint->port();
    o.verification.certhash = std::move(certhash);
    auto app = std::make_shared<ClientApp>();
    auto client = co_await Client::connect(io.get_executor(), o, app);
    app->conn = &client->connection();
    for (int i = 0; i < 500 && !app->ready && !app->closed; ++i) co_await sleep_for(10ms);
    co_return std::pair{client, app};
  }

  // Echoes `payload` over a new stream of `client`.
  awaitable<std::string> echo(Client& client, ClientApp& app, std::string payload) {
    app.received.clear();
    app.fin = false;
    auto sid = client.connection().open_bidi_stream();
    if (!sid) co_return "no stream";
    client.connection().send(*sid, std::move(payload), true);
    for (int i = 0; i < 1000 && !app.fin && !app.closed; ++i) co_await sleep_for(10ms);
    co_return app.received;
  }

  template <typename Fn>
  void run(Fn fn) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, fn(), [&](std::exception_ptr e) {
      error = e;
      done = true;
    });
    while (!done && io.run_one_for(30s)) {
    }
    asio::co_spawn(io, endpoint->shutdown(200ms), [](std::exception_ptr) {});
    io.run_for(5s);
    ASSERT_TRUE(done) << "test coroutine did not finish";
    if (error) std::rethrow_exception(error);
  }
};

TEST(Endpoint, EchoesMoreThanTheFlowControlWindows) {
  Fixture f;
  f.run([&]() -> awaitable<void> {
    auto [client, app] = co_await f.connect(f.current->certhash);
    EXPECT_TRUE(app->ready) << app->reason;
    std::string payload(12 << 20, '\0');  // above the 1 MiB stream and 8 MiB connection windows
    std::mt19937 rng(1);
    for (auto& c : payload) c = static_cast<char>(rng());
    auto back = co_await f.echo(*client, *app, payload);
    EXPECT_EQ(back.size(), payload.size());
    EXPECT_TRUE(back == payload);
    client->connection().close(0, "");
  });
}

TEST(Endpoint, NewHandshakesUseTheRotatedCertificateWhileOldConnectionsLive) {
  Fixture f;
  f.run([&]() -> awaitable<void> {
    const auto old_hash = f.current->certhash;
    auto [c1, a1] = co_await f.connect(old_hash);
    EXPECT_TRUE(a1->ready);
    f.current = std::make_shared<tls::CertificatePair>(tls::generate_ephemeral_certificate());
    auto [c2, a2] = co_await f.connect(old_hash);
    EXPECT_FALSE(a2->ready);
    EXPECT_NE(c2->connection().end_reason().find("certificate hash mismatch"), std::string::npos)
        << c2->connection().end_reason();
    auto [c3, a3] = co_await f.connect(f.current->certhash);
    EXPECT_TRUE(a3->ready);
    EXPECT_EQ(co_await f.echo(*c1, *a1, "old connection still works"),
              "old connection still works");
    EXPECT_EQ(co_await f.echo(*c3, *a3, "new certificate"), "new certificate");
    c1->connection().close(0, "");
    c3->connection().close(0, "");
  });
}

TEST(Endpoint, RejectsHandshakesWithoutTheH3Alpn) {
  Fixture f;
  f.run([&]() -> awaitable<void> {
    auto [client, app] = co_await f.connect(f.current->certhash, "h2");
    EXPECT_FALSE(app->ready);
    EXPECT_TRUE(app->closed);
    auto [ok_client, ok_app] = co_await f.connect(f.current->certhash);
    EXPECT_TRUE(ok_app->ready);
    ok_client->connection().close(0, "");
  });
}

TEST(Endpoint, RefusesConnectionsAboveThePerIpLimit) {
  Fixture f(1);
  f.run([&]() -> awaitable<void> {
    auto [c1, a1] = co_await f.connect(f.current->certhash);
    EXPECT_TRUE(a1->ready);
    auto [c2, a2] = co_await f.connect(f.current->certhash);
    EXPECT_FALSE(a2->ready);
    EXPECT_TRUE(a2->closed);
    EXPECT_EQ(f.endpoint->stats().refused, 1u);
    EXPECT_EQ(f.endpoint->connection_count(), 1u);
    c1->connection().close(0, "");
    for (int i = 0; i < 200 && f.endpoint->connection_count() > 0; ++i) co_await sleep_for(10ms);
    auto [c3, a3] = co_await f.connect(f.current->certhash);
    EXPECT_TRUE(a3->ready);
    c3->connection().close(0, "");
  });
}

TEST(Endpoint, RateLimitsStatelessResets) {
  Fixture f;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.endpoint->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string pkt(80, '\x55');
  pkt[0] = 0x40;  // short header, unknown 18-byte connection ID
  for (int i = 0; i < 400; ++i) {
    pkt[1 + i % 18] = static_cast<char>(i);
    sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  f.run([&]() -> awaitable<void> {
    for (int i = 0;
         i < 100 && f.endpoint->stats().stateless_resets + f.endpoint->stats().dropped < 400; ++i)
      co_await sleep_for(10ms);
  });
  close(fd);
  EXPECT_GE(f.endpoint->stats().stateless_resets, 1u);
  EXPECT_LE(f.endpoint->stats().stateless_resets, 110u);  // bucket of 100 plus refill
}

}  // namespace
}  // namespace wasimoff::quic
