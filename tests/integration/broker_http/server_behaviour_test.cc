// HTTP/1.1 behaviour of the real broker's TCP listener (docs/http-api.md §1): keep-alive,
// pipelining, limits (431, 413), malformed requests, HEAD, Expect: 100-continue, and clients that
// vanish.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ServerBehaviour, KeepAliveServesSeveralRequestsOnOneConnection) {
  BrokerProcess broker;
  HttpConnection conn(broker.port());
  const std::string wasm = wasm_bytes("keep-alive");
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    auto r = conn.request("GET", "/healthz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "OK\n");
    EXPECT_NE(header(r, "Connection"), "close");
    auto up = conn.request("POST", "/api/storage/upload", {}, wasm);
    EXPECT_EQ(up.status, 200u);
    // Error responses of routes keep the connection open too.
    EXPECT_EQ(conn.request("GET", "/api/nothing").status, 404u);
  }
  EXPECT_FALSE(conn.closed_by_peer(std::chrono::milliseconds(500)))
      << "the server closed an idle keep-alive connection at once";
  EXPECT_EQ(conn.request("GET", "/api/version").status, 200u);
}

TEST(ServerBehaviour, ConnectionCloseAndHttp10AreHonoured) {
  BrokerProcess broker;
  {
    HttpConnection conn(broker.port());
    auto r = conn.request("GET", "/healthz", hdrs({{"Connection", "close"}}));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Connection"), "close");
    EXPECT_TRUE(conn.closed_by_peer());
  }
  {
    HttpConnection conn(broker.port());
    conn.send("GET /healthz HTTP/1.0\r\n\r\n");
    auto r = conn.read_response();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "OK\n");
    EXPECT_TRUE(conn.closed_by_peer());
  }
  {
    // HTTP/1.0 with explicit keep-alive stays open.
    HttpConnection conn(broker.port());
    conn.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(conn.read_response().status, 200u);
    conn.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(conn.read_response().status, 200u);
  }
}

TEST(ServerBehaviour, PipelinedRequestsAreAnsweredInOrder) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes("pipelined");
  ASSERT_EQ(upload(broker, wasm, "p.wasm").status, 200u);
  HttpConnection conn(broker.port());
  std::string batch;
  batch += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "GET /api/storage/p.wasm HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "HEAD /api/storage/p.wasm HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  batch += "GET /api/nothing HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  conn.send(batch);
  auto a = conn.read_response();
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, "OK\n");
  auto b = conn.read_response();
  EXPECT_EQ(b.status, 200u);
  EXPECT_EQ(b.body, wasm);
  auto c = conn.read_response(/*head=*/true);
  EXPECT_EQ(c.status, 200u);
  EXPECT_EQ(header(c, "Content-Length"), std::to_string(wasm.size()));
  auto d = conn.read_response();
  EXPECT_EQ(d.status, 415u);
  auto e = conn.read_response();
  EXPECT_EQ(e.status, 404u);
  auto f = conn.read_response();
  EXPECT_EQ(f.status, 200u);
  EXPECT_THAT(f.body, HasSubstr("wasimoff-broker"));
  auto g = conn.read_response();
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(header(g, "Connection"), "close");
  EXPECT_TRUE(conn.closed_by_peer());
}

TEST(ServerBehaviour, HeaderSectionAbove64KiBIs431) {
  BrokerProcess broker;
  auto big = raw_exchange(broker.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                             std::string(70 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(raw_status(big), 431u) << big.substr(0, 200);
  EXPECT_THAT(big, HasSubstr("Server: wasimoff-broker/"));
  EXPECT_THAT(big, HasSubstr("request header fields too large\n"));
  // Many small headers count as well.
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i)
    many += "X-H" + std::to_string(i) + ": " + std::string(40, 'b') + "\r\n";
  EXPECT_EQ(raw_status(raw_exchange(broker.port(), many + "\r\n")), 431u);
  // Just below the limit is fine.
  auto ok = raw_exchange(broker.port(),
                         "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " +
                             std::string(60 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(raw_status(ok), 200u);
  // The broker is still healthy.
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
}

TEST(ServerBehaviour, MalformedRequestsAre400) {
  BrokerProcess broker;
  for (const std::string& bad : {
           std::string("GARBAGE\r\n\r\n"),
           std::string("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"),
           std::string("GET /healthz\r\n\r\n"),
           std::string("GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
           std::string("GET /healthz HTTP/1.1\r\nBad Header Name: x\r\n\r\n"),
           std::string(
               "POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
           std::string("POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       "5\r\nContent-Length: 6\r\n\r\nhello"),
           std::string("POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                       "chunked\r\n\r\nzz\r\n"),
       }) {
    SCOPED_TRACE(bad);
    auto r = raw_exchange(broker.port(), bad);
    EXPECT_EQ(raw_status(r), 400u) << r;
    EXPECT_THAT(r, HasSubstr("Content-Type: text/plain; charset=utf-8"));
    EXPECT_THAT(r, HasSubstr("Server: wasimoff-broker/"));
    EXPECT_THAT(r, HasSubstr("Connection: close"));
  }
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
}

TEST(ServerBehaviour, BodyAboveTheServerCapIs413) {
  // Server cap = max(upload, message) + 64 KiB = 1 MiB + 64 KiB here.
  BrokerProcess broker(
      {{"WASIMOFF_MAX_UPLOAD_SIZE", "1KiB"}, {"WASIMOFF_MAX_MESSAGE_SIZE", "1MiB"}});
  // Announced too large: answered before any body byte is sent.
  HttpConnection conn(broker.port());
  conn.send("POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.body, "request body too large\n");
  EXPECT_EQ(header(r, "Connection"), "close");
  EXPECT_TRUE(conn.closed_by_peer());

  // A chunked body that grows beyond the cap.
  HttpConnection chunked(broker.port());
  chunked.send(
      "POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk(256 * 1024, 'c');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  http::ClientResponse answer;
  bool answered = false;
  for (int i = 0; i < 8 && !answered; ++i) {
    try {
      chunked.send(size_line + chunk + "\r\n");
    } catch (const std::exception&) {
      break;  // the server already answered and closed
    }
  }
  answer = chunked.read_response();
  EXPECT_EQ(answer.status, 413u);

  // Between the upload limit and the server cap: the route's own 413.
  auto route = http_request("POST", broker.url("/api/storage/upload"), {},
                            wasm_bytes(std::string(4096, 'x')));
  EXPECT_EQ(route.status, 413u);
  EXPECT_EQ(route.body, "file too large\n");
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
}

TEST(ServerBehaviour, HeadHasHeadersButNoBody) {
  BrokerProcess broker;
  HttpConnection conn(broker.port());
  for (const char* path :
       {"/healthz", "/api/version", "/api/broker/v1/config", "/metrics", "/api/nothing"}) {
    SCOPED_TRACE(path);
    auto get = conn.request("GET", path);
    auto head = conn.request("HEAD", path);
    EXPECT_EQ(head.status, get.status);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(header(head, "Content-Type"), header(get, "Content-Type"));
    if (std::string(path) != "/metrics") {  // the metrics text changes between requests
      EXPECT_EQ(header(head, "Content-Length"), std::to_string(get.body.size()));
    }
  }
  // The connection is still in sync (no stray body bytes after the HEAD responses).
  EXPECT_EQ(conn.request("GET", "/healthz").body, "OK\n");
}

TEST(ServerBehaviour, ChunkedRequestBody) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes(std::string(300, 'c'));  // 308 bytes = 0x134
  HttpConnection conn(broker.port());
  conn.send(
      "POST /api/storage/upload?name=chunked.wasm HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  conn.send("8\r\n" + wasm.substr(0, 8) + "\r\n");
  conn.send("12c\r\n" + wasm.substr(8) + "\r\n0\r\n\r\n");
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, ref_of(wasm) + "\n");
  EXPECT_EQ(conn.request("GET", "/api/storage/chunked.wasm").body, wasm);
}

TEST(ServerBehaviour, ExpectContinue) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes("expect");
  HttpConnection conn(broker.port());
  conn.send(
      "POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
      std::to_string(wasm.size()) + "\r\n\r\n");
  auto interim = conn.read_headers_only();
  EXPECT_EQ(interim.status, 100u);
  conn.send(wasm);
  auto r = conn.read_response();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, ref_of(wasm) + "\n");
}

// Polls /metrics until `series value` appears (bounded).
bool wait_for_metric(const BrokerProcess& broker, const std::string& line) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (http_get(broker.url("/metrics")).body.find("\n" + line + "\n") != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(ServerBehaviour, ClientsThatDisconnectMidRequestDoNotHurtOthers) {
  BrokerProcess broker;
  const std::string module = wasm_bytes("waits for a provider");
  ASSERT_EQ(upload(broker, module, "wait.wasm").status, 200u);
  const std::string task_body = R"({"params":{"binary":{"ref":"wait.wasm"}}})";
  HttpConnection steady(broker.port());
  EXPECT_EQ(steady.request("GET", "/healthz").status, 200u);
  for (int i = 0; i < 20; ++i) {
    {
      HttpConnection half_header(broker.port());
      half_header.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: ");
    }
    {
      HttpConnection half_body(broker.port());
      half_body.send(
          "POST /api/storage/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nPK");
    }
    {
      // Gone before reading the response.
      HttpConnection gone(broker.port());
      gone.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    {
      // A task request that waits for a provider (none is connected); the client leaves.
      HttpConnection task(broker.port());
      task.send(
          "POST /api/client/wasimoff.v1.Tasks/RunWasip1 HTTP/1.1\r\nHost: x\r\n"
          "Content-Type: application/json\r\nContent-Length: " +
          std::to_string(task_body.size()) + "\r\n\r\n" + task_body);
    }
    EXPECT_EQ(steady.request("GET", "/healthz").status, 200u);
  }
  // Meanwhile others are served normally, on old and new connections.
  const std::string wasm = wasm_bytes("survivor");
  EXPECT_EQ(steady.request("POST", "/api/storage/upload", {}, wasm).status, 200u);
  EXPECT_EQ(http_get(broker.url("/api/storage/" + ref_of(wasm))).body, wasm);
  // The abandoned tasks were cancelled: nothing stays queued.
  EXPECT_TRUE(wait_for_metric(broker, "wasimoff_tasks_queued 0"))
      << http_get(broker.url("/metrics")).body;
  EXPECT_TRUE(broker.process().running());
  EXPECT_EQ(broker.stop(), 0) << broker.process().stderr_text();
}

TEST(ServerBehaviour, ManyConcurrentConnections) {
  BrokerProcess broker;
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < 100; ++i) conns.push_back(std::make_unique<HttpConnection>(broker.port()));
  // Requests on all of them, interleaved.
  for (int round = 0; round < 2; ++round)
    for (auto& c : conns) ASSERT_EQ(c->request("GET", "/healthz").status, 200u);
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
