// WebTransport CONNECTs at the trust boundary (security.md "Providers as seen by the Broker",
// "The network"): provider names are checked before a session exists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "broker_http_fixture.h"
#include "net/webtransport/client.h"

namespace wasimoff::testing::broker_http {
namespace {

using namespace std::chrono_literals;

// Runs `body` on a fresh io_context until it finishes (bounded).
void run_io(const std::function<boost::asio::awaitable<void>(boost::asio::any_io_executor)>& body) {
  boost::asio::io_context io;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, body(io.get_executor()), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.run_for(25s);
  if (!done) throw std::runtime_error("did not finish in time");
  if (error) std::rethrow_exception(error);
}

std::string certhash_of(const BrokerProcess& broker) {
  auto doc = boost::json::parse(http_get(broker.url("/api/broker/v1/config")).body).as_object();
  return std::string(doc.at("certhash").as_string());
}

// Runs one WebTransport CONNECT to the broker's transport path with `query`; returns the
// client's error message, or "" when the session was established.
std::string webtransport_attempt(const BrokerProcess& broker, const std::string& query) {
  const std::string hash = certhash_of(broker);
  std::string error;
  run_io([&](boost::asio::any_io_executor ex) -> boost::asio::awaitable<void> {
    webtransport::ClientOptions o;
    o.url = "https://127.0.0.1:" + std::to_string(broker.quic_port()) + "/transport?" + query;
    o.certhash = hash;
    try {
      auto t = co_await webtransport::connect(ex, o);
      t->close(protocol::CloseCode::kNormal, "bye!");
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  return error;
}

TEST(WebTransportAdmission, WebTransportConnectWithAnInvalidProviderNameIs400) {
  BrokerProcess broker;
  for (const char* bad : {"evil%0D%0AX-Injected%3A%201", "%E2%80%AEreversed", "%FF"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(webtransport_attempt(broker, std::string("id=") + bad),
                ::testing::HasSubstr("refused with HTTP status 400"));
  }
  EXPECT_EQ(webtransport_attempt(broker, "id=Fine%20name%20%E2%9C%93"), "");
}

// The provider's WebTransport client reports failures with the URL it used, whose query may
// carry the token: the message shows it redacted (provider logs print these messages).
TEST(WebTransportAdmission, ClientErrorsNeverShowTheToken) {
  BrokerProcess broker(Env{{"WASIMOFF_PROVIDER_TOKEN", "wt-SECRET-token"}});
  auto refused = webtransport_attempt(broker, "id=fine&token=wt-SECRET-wrong");
  EXPECT_THAT(refused, ::testing::HasSubstr("refused with HTTP status 401"));
  EXPECT_THAT(refused, ::testing::HasSubstr("token=(redacted)"));
  EXPECT_THAT(refused, ::testing::Not(::testing::HasSubstr("SECRET")));
  auto invalid = webtransport_attempt(broker, "token=wt-SECRET-token&id=%0A");
  EXPECT_THAT(invalid, ::testing::HasSubstr("refused with HTTP status 400"));
  EXPECT_THAT(invalid, ::testing::Not(::testing::HasSubstr("SECRET")));
  EXPECT_EQ(webtransport_attempt(broker, "token=wt-SECRET-token&id=ok"), "");
  // Nor does the Broker log it, for accepted or refused CONNECTs.
  broker.stop();
  EXPECT_THAT(broker.process().stderr_text(), ::testing::Not(::testing::HasSubstr("SECRET")));
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
