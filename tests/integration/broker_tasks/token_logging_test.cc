// Tokens in query strings and headers never reach the Broker's log (security.md "The network").
#include "broker_tasks_fixture.h"

namespace wasimoff::testing {
namespace {

TEST_F(BrokerTasks, TokensNeverReachTheLog) {
  const std::string ptoken = "prov-SECRET-7e1d", ctoken = "client-SECRET-90ab";
  start_broker({{"WASIMOFF_PROVIDER_TOKEN", ptoken}, {"WASIMOFF_CLIENT_TOKEN", ctoken}});
  auto o = provider_options("tokened", 1);
  o.token = ptoken;
  auto p = connect_provider(o);
  auto wrong = provider_options("wrong-token", 1);
  wrong.token = "prov-SECRET-wrong";
  EXPECT_THROW(TestProvider bad(wrong), HandshakeRefused);
  for (const std::string& t : {ctoken, std::string("client-SECRET-wrong")}) {
    http_request("POST", broker().url("/api/client/run/echo.wasm?token=" + t), {}, "x");
    http_request("POST", broker().url("/api/client/wasimoff.v1.Tasks/RunWasip1?token=" + t),
                 make_headers({{"Content-Type", "application/json"}}), task_json({"x"}));
    http_request("POST", broker().url("/api/client/wasimoff.v1.Tasks/Nope?token=" + t),
                 make_headers({{"Content-Type", "application/json"}}), "{}");
    http_get(broker().url("/api/storage/nope.wasm?token=" + t));
    http_get(broker().url("/api/nothing?token=" + t));
    http_get(broker().url("/missing.html?token=" + t));
    http_get(broker().url("/metrics?token=" + t), make_headers({{"Authorization", "Bearer " + t}}));
    raw_exchange(broker().port(), "GET /x?token=" + t + " HTTP/1.1\r\nHost: \x01\r\n\r\n");
    raw_exchange(broker().port(), "GARBAGE /api/client/ws?token=" + t + "\r\n\r\n");
  }
  {
    ClientSocket client(client_ws_url() + "?token=" + ctoken);
    auto r = client.call_as<v1::Task::Wasip1::Response>(v1::Task::Wasip1::Request());
    EXPECT_EQ(r.index(), 1u);
  }
  EXPECT_THROW(ClientSocket(client_ws_url() + "?token=client-SECRET-wrong"), std::exception);
  p.reset();
  broker().stop();
  auto log = broker().process().stderr_text();
  EXPECT_EQ(log.find("SECRET"), std::string::npos) << log;
}

}  // namespace
}  // namespace wasimoff::testing
