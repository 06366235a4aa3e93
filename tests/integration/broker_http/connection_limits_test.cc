// Connections per client address and connections that never send a complete request header
// (security.md "The network").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(ConnectionLimits, OneAddressGetsItsShareOfConnectionsAndSilentOnesAreDropped) {
  BrokerProcess broker(
      Env{{"WASIMOFF_MAX_CONNECTIONS_PER_IP", "8"}, {"WASIMOFF_REQUEST_HEADER_TIMEOUT", "2s"}});
  // Eight connections from 127.0.0.1 that never complete a request header: five silent, three
  // trickling a header byte by byte (slowloris).
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<HttpConnection>(broker.port()));
    if (i >= 5) held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  }
  std::this_thread::sleep_for(300ms);  // all accepted
  auto opened = Clock::now();
  // The ninth from the same address is closed at once, without a response.
  HttpConnection ninth(broker.port());
  EXPECT_TRUE(ninth.closed_by_peer(1500ms)) << "the ninth connection was served";
  // Keep the trickling ones busy: a byte every 500 ms, each one a valid header character.
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(500ms);
    for (int i = 5; i < 8; ++i) {
      try {
        held[static_cast<std::size_t>(i)]->send("X");
      } catch (const std::exception&) {
      }
    }
  }
  // Every one of them is closed once the header timeout has passed.
  for (auto& c : held) EXPECT_TRUE(c->closed_by_peer(5s));
  auto took = Clock::now() - opened;
  EXPECT_LT(took, 6s);
  // The address has its share again.
  HttpConnection fresh(broker.port());
  EXPECT_EQ(fresh.request("GET", "/healthz").status, 200u);
  // A connection that completed its request waits for the next one under the idle timeout,
  // not the header timeout.
  EXPECT_FALSE(fresh.closed_by_peer(3s));
  EXPECT_EQ(fresh.request("GET", "/healthz").status, 200u);
  EXPECT_TRUE(broker.process().wait_for_stderr("connections from 127.0.0.1", 2s))
      << broker.process().stderr_text();
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
