// The JSON codec at the trust boundary (docs/protocol.md §3.5, §4): wrong shapes are refused naming
// the field, unknown payload types on provider sockets are tolerated as the protocol says.
#include "broker_tasks_fixture.h"

namespace wasimoff::testing {
namespace {

// libprotobuf 3.21 accepts a scalar for a list and flattens nested lists; the Broker answers
// 400 naming the field instead.
TEST_F(BrokerTasks, ConnectJsonWithWrongShapesIsInvalidArgument) {
  start_broker();
  auto p = connect_provider("shapes", 2);
  struct Case {
    std::string body, field;
  };
  std::vector<Case> cases = {
      {R"({"params":{"binary":{"ref":"echo.wasm"},"args":"echo.wasm"}})", "params.args"},
      {R"({"params":{"binary":{"ref":"echo.wasm"},"args":[["echo.wasm","x"]]}})", "params.args"},
      {R"({"params":[{"binary":{"ref":"echo.wasm"}}]})", "params"},
      {R"({"params":{"binary":{"ref":["echo.wasm"]}}})", "params.binary.ref"},
      {R"({"params":{"binary":{"ref":"echo.wasm"}},"qos":{"priority":[true]}})", "qos.priority"},
      {R"({"params":{"binary":{"ref":"echo.wasm"}},"qos":{"deadline":{"seconds":1}}})",
       "qos.deadline"},
      {R"([{"params":{}}])", "(top level)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = rpc("RunWasip1", c.body);
    EXPECT_EQ(r.status, 400u) << r.body;
    auto body = parse(r.body);
    EXPECT_EQ(body.at("code").as_string(), "invalid_argument");
    EXPECT_NE(std::string(body.at("message").as_string()).find(c.field), std::string::npos)
        << r.body;
  }
  auto job = rpc("RunWasip1Job", R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":{}})");
  EXPECT_EQ(job.status, 400u) << job.body;
  EXPECT_EQ(p->requests().size(), 0u);
  // Well-formed JSON still works, with nulls and the other spellings proto3 JSON allows.
  auto ok =
      rpc("RunWasip1", R"({"params":{"binary":{"ref":"echo.wasm"},"args":["echo.wasm","fine"],)"
                       R"("envs":null,"stdin":null},"qos":{"deadline":")" +
                           rfc3339_from_now(60s) + R"(","priority":false},"info":null})");
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(stdout_of(parse(ok.body)), "fine\n");
}

TEST_F(BrokerTasks, JsonProviderSocketToleratesUnknownTypesAndRejectsWrongShapes) {
  start_broker();
  auto o = provider_options("json-peer", 1);
  o.subprotocols = {"wasimoff_provider_v1_json"};
  auto p = connect_provider(o);
  // An Event of a type this Broker does not know: logged and ignored.
  p->send_raw(R"({"sequence":"50","type":"Event","payload":)"
              R"({"@type":"wasimoff/wasimoff.v1.Event.SomethingNew","level":3}})",
              true);
  // A Request of an unknown type: answered `not implemented`.
  p->send_raw(R"({"sequence":"51","type":"Request","payload":)"
              R"({"@type":"type.googleapis.com/example.Unknown","x":[1,2]}})",
              true);
  ASSERT_TRUE(p->wait_for([&] { return response_for(*p, 51).has_value(); }));
  EXPECT_EQ(response_for(*p, 51)->error(), "not implemented");
  // A known Request type whose payload does not decode: `bad payload: …`.
  p->send_raw(R"({"sequence":"52","type":"Request","payload":)"
              R"({"@type":"wasimoff/wasimoff.v1.Task.Cancel","id":["x"]}})",
              true);
  ASSERT_TRUE(p->wait_for([&] { return response_for(*p, 52).has_value(); }));
  std::string bad = response_for(*p, 52)->error();
  EXPECT_TRUE(bad.starts_with("bad payload: ")) << bad;
  EXPECT_NE(bad.find("id"), std::string::npos) << bad;
  // A known Event with a list where a number belongs: ignored, capacity unchanged.
  p->send_raw(R"({"sequence":"53","type":"Event","payload":)"
              R"({"@type":"wasimoff/wasimoff.v1.Event.ProviderResources","concurrency":[5]}})",
              true);
  barrier(*p, 60);
  EXPECT_EQ(debug_provider("json-peer").at("capacity"), 1);
  EXPECT_TRUE(p->connected());
  EXPECT_EQ(stdout_of(run_ok({"still", "works"})), "still works\n");
  // An Envelope with a wrong shape outside the payload is a protocol error.
  p->send_raw(R"({"sequence":["54"],"type":"Event"})", true);
  ASSERT_TRUE(p->wait_disconnected());
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1002);
  EXPECT_NE(p->close_frame()->reason.find("sequence"), std::string::npos)
      << p->close_frame()->reason;
}

}  // namespace
}  // namespace wasimoff::testing
