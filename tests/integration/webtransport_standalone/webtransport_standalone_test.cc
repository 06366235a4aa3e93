// Drives wt_test_server (a child process on 127.0.0.1) with our HTTP/3 and WebTransport
// clients: ordinary requests, sessions and Envelope round trips, large messages, many concurrent
// requests, and hostile input after which the server must keep serving others.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "net/h3/client_connection.h"
#include "net/h3/error_codes.h"
#include "net/h3/varint.h"
#include "net/tls/certificate.h"
#include "net/webtransport/capsule.h"
#include "net/webtransport/client.h"
#include "net/webtransport/draft.h"
#include "net/webtransport/error_code.h"
#include "net/webtransport/message_framing.h"
#include "protocol/codec.h"

namespace wasimoff {
namespace {

using namespace std::chrono_literals;

// A running wt_test_server.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::vector<char*> argv;
      std::string bin = WT_TEST_SERVER;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256];
    for (int i = 0; i < 2 && fgets(line, sizeof line, f); ++i) {
      std::string l(line);
      if (l.rfind("port ", 0) == 0) port_ = static_cast<std::uint16_t>(std::stoi(l.substr(5)));
      if (l.rfind("certhash ", 0) == 0) certhash_ = l.substr(9, 64);
    }
    out_ = f;
    if (port_ == 0) throw std::runtime_error("test server did not start");
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  // SIGTERM and wait (bounded); returns the exit status or -1 on timeout.
  int terminate(std::chrono::seconds limit) {
    kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  bool alive() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  std::uint16_t port() const { return port_; }
  const std::string& certhash() const { return certhash_; }
  std::string url(const std::string& target = "/transport") const {
    return "https://127.0.0.1:" + std::to_string(port_) + target;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::uint16_t port_ = 0;
  std::string certhash_;
};

// Runs `fn` as a coroutine on a fresh io_context (bounded); rethrows its exception.
template <typename Fn>
void run(Fn fn, std::chrono::seconds limit = 60s) {
  asio::io_context io;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, fn(io.get_executor()), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.run_for(limit);
  if (!done) FAIL() << "test coroutine did not finish within " << limit.count() << " s";
  if (error) std::rethrow_exception(error);
}

quic::ClientOptions client_options(const ServerProcess& s) {
  quic::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = s.port();
  o.verification.certhash = s.certhash();
  return o;
}

awaitable<std::shared_ptr<h3::ClientConnection>> h3_connect(const ServerProcess& s) {
  co_return co_await h3::ClientConnection::connect(co_await asio::this_coro::executor,
                                                   client_options(s),
                                                   webtransport::draft::local_settings(), 10s);
}

http::Request get(const std::string& target, const std::string& method = "GET") {
  http::Request r;
  r.method = method;
  r.scheme = "https";
  r.authority = "127.0.0.1";
  r.target = target;
  return r;
}

webtransport::ClientOptions wt_options(const ServerProcess& s,
                                       const std::string& target = "/transport") {
  webtransport::ClientOptions o;
  o.url = s.url(target);
  o.certhash = s.certhash();
  o.timeout = 10s;
  o.max_message_size = 8 << 20;
  return o;
}

v1::Envelope envelope(std::uint64_t seq, std::string text) {
  v1::Envelope e;
  e.set_sequence(seq);
  e.set_type(v1::Envelope::Request);
  e.set_error(std::move(text));
  return e;
}

class WebTransportStandalone : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    file_path_ = new std::string("/tmp/wt_test_file_" + std::to_string(getpid()));
    std::ofstream f(*file_path_, std::ios::binary);
    std::mt19937 rng(7);
    std::string data(5 * 1024 * 1024 + 123, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    f << data;
    f.close();
    file_data_ = new std::string(std::move(data));
    server_ = new ServerProcess({"--file", *file_path_, "--token", "secret", "--max-message-size",
                                 std::to_string(1 << 20)});
  }
  static void TearDownTestSuite() {
    delete server_;
    std::remove(file_path_->c_str());
    delete file_path_;
    delete file_data_;
  }
  void TearDown() override { EXPECT_TRUE(server_->alive()) << "the server died"; }

  static ServerProcess* server_;
  static std::string* file_path_;
  static std::string* file_data_;
};
ServerProcess* WebTransportStandalone::server_ = nullptr;
std::string* WebTransportStandalone::file_path_ = nullptr;
std::string* WebTransportStandalone::file_data_ = nullptr;

TEST_F(WebTransportStandalone, ServesOrdinaryRequestsOverHttp3) {
  run([&](asio::any_io_executor) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    auto r = co_await c->fetch(get("/hello"), 10s);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "hello over h3\n");
    EXPECT_EQ(r.headers.get("server"), "wt_test_server");
    auto h = co_await c->fetch(get("/hello", "HEAD"), 10s);
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(h.body, "");
    EXPECT_EQ(h.headers.get("content-length"), "14");
    auto missing = co_await c->fetch(get("/nope"), 10s);
    EXPECT_EQ(missing.status, 404u);
    auto wrong_method = co_await c->fetch(get("/hello", "DELETE"), 10s);
    EXPECT_EQ(wrong_method.status, 405u);
    c->close();
  });
}

TEST_F(WebTransportStandalone, EchoesLargeRequestBodiesAndStreamsFiles) {
  run([&](asio::any_io_executor) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    auto req = get("/echo", "POST");
    req.body = file_data_->substr(0, 3 << 20);
    auto r = co_await c->fetch(req, 30s);
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.body == req.body) << "echoed " << r.body.size() << " bytes";
    auto f = co_await c->fetch(get("/file"), 30s);
    EXPECT_EQ(f.status, 200u);
    EXPECT_EQ(f.body.size(), file_data_->size());
    EXPECT_TRUE(f.body == *file_data_);
    auto too_big = get("/echo", "POST");
    too_big.body = std::string(5 << 20, 'x');  // cap is 4 MiB
    auto t = co_await c->fetch(too_big, 30s);
    EXPECT_EQ(t.status, 413u);
    c->close();
  });
}

// One POST /echo; counts successes. A plain function, not a capturing lambda: GCC 12 mishandles
// captures of coroutine lambdas handed to co_spawn.
awaitable<void> echo_request(std::shared_ptr<h3::ClientConnection> c, int i, int& ok, int& done) {
  auto req = get("/echo", "POST");
  req.body = "request " + std::to_string(i);
  try {
    auto r = co_await c->fetch(req, 30s);
    if (r.status == 200 && r.body == req.body) ++ok;
  } catch (const std::exception&) {
  }
  ++done;
}

TEST_F(WebTransportStandalone, ManyConcurrentRequestsBeyondTheStreamLimit) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    constexpr int kRequests = 300;  // the server allows 100 concurrent streams
    int ok = 0, done = 0;
    for (int i = 0; i < kRequests; ++i)
      asio::co_spawn(ex, echo_request(c, i, ok, done), asio::detached);
    while (done < kRequests) co_await sleep_for(10ms);
    EXPECT_EQ(ok, kRequests);
    c->close();
  });
}

TEST_F(WebTransportStandalone, SessionEchoesEnvelopesIncludingOneMebibyte) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t =
        co_await webtransport::connect(ex, wt_options(*server_, "/transport?id=p1&token=secret"));
    EXPECT_EQ(t->kind(), "webtransport");
    for (std::uint64_t i = 1; i <= 50; ++i) {
      co_await t->send(envelope(i, "message " + std::to_string(i)));
      auto back = co_await t->receive();
      if (!back) throw std::runtime_error("session ended: " + t->end_reason());
      EXPECT_EQ(back->sequence(), i);
      EXPECT_EQ(back->error(), "message " + std::to_string(i));
    }
    // Just below the server's 1 MiB limit (the Envelope adds a few bytes of framing).
    std::string big(1024 * 1024 - 64, 'b');
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
    co_await t->send(envelope(99, big));
    auto back = co_await t->receive();
    if (!back) throw std::runtime_error("session ended: " + t->end_reason());
    EXPECT_EQ(back->sequence(), 99u);
    EXPECT_TRUE(back->error() == big);
    t->close(protocol::CloseCode::kNormal, "bye!");
    EXPECT_FALSE(co_await t->receive());
  });
}

TEST_F(WebTransportStandalone, PipelinedMessagesKeepTheirOrder) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    for (std::uint64_t i = 1; i <= 200; ++i) co_await t->send(envelope(i, std::string(5000, 'p')));
    for (std::uint64_t i = 1; i <= 200; ++i) {
      auto back = co_await t->receive();
      if (!back) throw std::runtime_error("session ended: " + t->end_reason());
      EXPECT_EQ(back->sequence(), i);
    }
  });
}

TEST_F(WebTransportStandalone, SustainedLargeMessagesArriveIntactAndInOrder) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    constexpr int kMessages = 32;
    std::string body(1024 * 1024 - 64, 'm');
    const auto start = std::chrono::steady_clock::now();
    int intact = 0;
    // Two in flight at a time: the writer never waits for more than one echo.
    co_await t->send(envelope(0, body));
    for (int i = 0; i < kMessages; ++i) {
      if (i + 1 < kMessages) co_await t->send(envelope(i + 1, body));
      auto back = co_await t->receive();
      if (!back) throw std::runtime_error("session ended: " + t->end_reason());
      if (back->sequence() == static_cast<std::uint64_t>(i) && back->error() == body) ++intact;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(intact, kMessages);
    std::printf("echoed %d x 1 MiB in %.2f s (%.1f MiB/s each way)\n", kMessages, seconds,
                kMessages / seconds);
  });
}

TEST_F(WebTransportStandalone, ServerClosesOnRequestWithItsCode) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    co_await t->send(envelope(1, "close:1011"));
    EXPECT_FALSE(co_await t->receive());
    EXPECT_NE(t->end_reason().find("peer closed: 1011 requested"), std::string::npos)
        << t->end_reason();
  });
}

TEST_F(WebTransportStandalone, RefusesWrongPathBadTokenAndWrongCertificate) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto expect_error = [&](webtransport::ClientOptions o, std::string what) -> awaitable<void> {
      try {
        auto t = co_await webtransport::connect(ex, o);
        ADD_FAILURE() << "connect succeeded, expected: " << what;
      } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      }
    };
    co_await expect_error(wt_options(*server_, "/elsewhere?token=secret"),
                          "refused with HTTP status 404");
    co_await expect_error(wt_options(*server_, "/transport?token=wrong"),
                          "refused with HTTP status 401");
    auto o = wt_options(*server_, "/transport?token=secret");
    o.certhash = std::string(64, 'a');
    co_await expect_error(o, "certificate hash mismatch");
    // The server still serves sessions.
    auto t = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    co_await t->send(envelope(1, "still here"));
    auto back = co_await t->receive();
    EXPECT_TRUE(back && back->error() == "still here");
  });
}

TEST_F(WebTransportStandalone, OversizedEnvelopeClosesTheSessionWith1009) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    co_await t->send(envelope(1, std::string(2 << 20, 'x')));  // server limit: 1 MiB
    EXPECT_FALSE(co_await t->receive());
    EXPECT_NE(t->end_reason().find("peer closed: 1009"), std::string::npos) << t->end_reason();
    auto t2 = co_await webtransport::connect(ex, wt_options(*server_, "/transport?token=secret"));
    co_await t2->send(envelope(2, "after"));
    auto back = co_await t2->receive();
    EXPECT_TRUE(back && back->sequence() == 2u);
  });
}

}  // namespace
}  // namespace wasimoff

namespace wasimoff {
namespace {

// Reads one datagram with a timeout; "" when none arrived.
std::string receive_with_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{0, static_cast<suseconds_t>(timeout.count() * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[2048];
  const auto n = recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

int udp_socket_to(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

int stat_value(const std::string& json, const std::string& key) {
  auto p = json.find("\"" + key + "\":");
  return p == std::string::npos ? -1 : std::stoi(json.substr(p + key.size() + 3));
}

TEST_F(WebTransportStandalone, AnswersUnknownVersionsAndUnknownConnectionsThenIgnoresGarbage) {
  const int fd = udp_socket_to(server_->port());
  std::mt19937 rng(42);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  // A long header with an unknown version gets a Version Negotiation packet listing QUIC v1.
  std::string vn_probe = "\xc0\x1a\x2a\x3a\x4a";
  vn_probe += '\x08' + random_bytes(8) + '\x08' + random_bytes(8);
  vn_probe += std::string(1200 - vn_probe.size(), '\0');
  send(fd, vn_probe.data(), vn_probe.size(), 0);
  auto vn = receive_with_timeout(fd, 2000ms);
  ASSERT_GE(vn.size(), 7u + 16u + 4u) << "no Version Negotiation packet";
  EXPECT_TRUE(vn[0] & 0x80);
  EXPECT_EQ(vn.substr(1, 4), std::string(4, '\0'));
  EXPECT_NE(vn.find(std::string("\x00\x00\x00\x01", 4)), std::string::npos);
  // A short-header packet for an unknown connection gets a (smaller) stateless reset.
  std::string short_pkt = "\x40" + random_bytes(18) + random_bytes(60);
  send(fd, short_pkt.data(), short_pkt.size(), 0);
  auto reset = receive_with_timeout(fd, 2000ms);
  EXPECT_GE(reset.size(), 21u) << "no stateless reset";
  EXPECT_LT(reset.size(), short_pkt.size());
  // Garbage of every kind.
  for (int i = 0; i < 600; ++i) {
    std::string g = random_bytes(1 + rng() % 1400);
    if (i % 3 == 0) g[0] = static_cast<char>(0xc0 | (g[0] & 0x0f));  // long header
    if (i % 3 == 1) g[0] = static_cast<char>(0x40 | (g[0] & 0x3f));  // short header
    send(fd, g.data(), g.size(), 0);
  }
  close(fd);
  run([&](asio::any_io_executor) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    auto r = co_await c->fetch(get("/hello"), 10s);
    EXPECT_EQ(r.status, 200u);
    c->close();
  });
}

TEST_F(WebTransportStandalone, RefusesExtraStreamsOfASessionAndKeepsTheFirst) {
  run([&](asio::any_io_executor) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    std::vector<std::pair<std::int64_t, std::uint64_t>> resets;
    std::string echoed;
    std::int64_t message = -1;
    h3::ClientConnection::Hooks hooks;
    hooks.reset = [&](std::int64_t sid, std::uint64_t code) { resets.emplace_back(sid, code); };
    hooks.raw_data = [&](std::int64_t sid, std::span<const std::uint8_t> d, bool) {
      if (sid == message) echoed.append(reinterpret_cast<const char*>(d.data()), d.size());
      c->consume(sid, d.size());
    };
    c->set_hooks(hooks);
    auto req = get("/transport?token=secret");
    for (const auto& f : webtransport::draft::connect_fields()) req.headers.add(f.name, f.value);
    auto [connect_sid, status] = co_await c->connect_extended(req, "webtransport", 10s);
    EXPECT_EQ(status, 200u);
    std::string header;
    h3::append_varint(header, 0x41);
    h3::append_varint(header, static_cast<std::uint64_t>(connect_sid));
    message = *c->open_raw_bidi(header);
    const std::string framed = webtransport::frame_message(
        protocol::encode(envelope(5, "first stream"), protocol::Codec::kBinary));
    c->send_raw(message, framed, false);
    auto extra = *c->open_raw_bidi(header);
    c->send_raw(extra, "more", false);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((resets.empty() || echoed.size() < framed.size()) &&
           std::chrono::steady_clock::now() < deadline)
      co_await sleep_for(20ms);
    EXPECT_FALSE(resets.empty()) << "the extra stream was not refused";
    if (!resets.empty()) {
      EXPECT_EQ(resets[0].first, extra);
      EXPECT_EQ(resets[0].second, webtransport::to_h3_error(0));
    }
    EXPECT_EQ(echoed, framed);
    c->close();
  });
}

TEST_F(WebTransportStandalone, ClientGoingAwaySetsPeerGone) {
  run([&](asio::any_io_executor) -> awaitable<void> {
    auto c = co_await h3_connect(*server_);
    const int before = stat_value((co_await c->fetch(get("/stats"), 10s)).body, "peer_gone");
    try {
      co_await c->fetch(get("/slow"), 300ms);  // times out and resets the stream
      ADD_FAILURE() << "/slow answered";
    } catch (const std::exception&) {
    }
    int after = before;
    for (int i = 0; i < 100 && after == before; ++i) {
      co_await sleep_for(20ms);
      after = stat_value((co_await c->fetch(get("/stats"), 10s)).body, "peer_gone");
    }
    EXPECT_EQ(after, before + 1);
    c->close();
  });
}

TEST_F(WebTransportStandalone, ClosesTheQuicConnectionSoonAfterTheSessionEnds) {
  run([&](asio::any_io_executor) -> awaitable<void> {
    // Behave like Chromium: CLOSE capsule + FIN, then never send CONNECTION_CLOSE. The server
    // must close the QUIC connection itself within about a second.
    auto c = co_await h3_connect(*server_);
    bool closed = false;
    h3::ClientConnection::Hooks hooks;
    hooks.closed = [&](std::string_view) { closed = true; };
    hooks.raw_data = [&](std::int64_t sid, std::span<const std::uint8_t> d, bool) {
      c->consume(sid, d.size());
    };
    c->set_hooks(hooks);
    auto req = get("/transport?token=secret");
    for (const auto& f : webtransport::draft::connect_fields()) req.headers.add(f.name, f.value);
    auto [connect_sid, status] = co_await c->connect_extended(req, "webtransport", 10s);
    EXPECT_EQ(status, 200u);
    std::string header;
    h3::append_varint(header, 0x41);
    h3::append_varint(header, static_cast<std::uint64_t>(connect_sid));
    auto message = *c->open_raw_bidi(header);
    c->send_raw(
        message,
        webtransport::frame_message(protocol::encode(envelope(1, "x"), protocol::Codec::kBinary)),
        false);
    co_await sleep_for(100ms);
    c->send_data(connect_sid, webtransport::encode_close_capsule(0, "bye!"), true);
    const auto start = std::chrono::steady_clock::now();
    while (!closed && std::chrono::steady_clock::now() - start < 3s) co_await sleep_for(10ms);
    EXPECT_TRUE(closed) << "the server kept the connection open";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  });
}

// Certificates from files, verified by a CA file instead of a hash; orderly shutdown.
class WebTransportWithFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/wt_files_" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    auto pair = tls::generate_ephemeral_certificate({"localhost"});
    std::ofstream(dir_ + "/cert.pem") << pair.cert_pem;
    std::ofstream(dir_ + "/key.pem") << pair.key_pem;
    auto other = tls::generate_ephemeral_certificate();
    std::ofstream(dir_ + "/other.pem") << other.cert_pem;
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--cert", dir_ + "/cert.pem", "--key", dir_ + "/key.pem",
                                 "--origin", "https://example.test"});
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  webtransport::ClientOptions options(std::string ca) {
    webtransport::ClientOptions o;
    o.url = "https://localhost:" + std::to_string(server_->port()) + "/transport?id=native";
    o.ca_file = std::move(ca);
    o.origin = "https://example.test";
    o.timeout = 10s;
    return o;
  }
  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(WebTransportWithFiles, VerifiesAgainstACaFileAndChecksOrigin) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, options(dir_ + "/cert.pem"));
    co_await t->send(envelope(1, "via CA"));
    auto back = co_await t->receive();
    EXPECT_TRUE(back && back->error() == "via CA");
    try {
      co_await webtransport::connect(ex, options(dir_ + "/other.pem"));
      ADD_FAILURE() << "an untrusted certificate was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("not trusted"), std::string::npos) << e.what();
    }
    auto wrong_origin = options(dir_ + "/cert.pem");
    wrong_origin.origin = "https://evil.test";
    try {
      co_await webtransport::connect(ex, wrong_origin);
      ADD_FAILURE() << "a disallowed origin was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("status 403"), std::string::npos) << e.what();
    }
  });
}

TEST_F(WebTransportWithFiles, ShutdownClosesSessionsWithCodeZeroAndExits) {
  run([&](asio::any_io_executor ex) -> awaitable<void> {
    auto t = co_await webtransport::connect(ex, options(dir_ + "/cert.pem"));
    co_await t->send(envelope(1, "before shutdown"));
    co_await t->receive();
    std::thread killer([&] { EXPECT_EQ(server_->terminate(10s), 0); });
    auto end = co_await t->receive();
    killer.join();
    EXPECT_FALSE(end);
    EXPECT_NE(t->end_reason().find("peer closed: 0 server shutting down"), std::string::npos)
        << t->end_reason();
  });
}

}  // namespace
}  // namespace wasimoff
