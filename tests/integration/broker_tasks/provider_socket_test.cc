// The provider WebSocket endpoint (docs/protocol.md §6, §8): checks before the upgrade, subprotocol
// negotiation, frame kinds, close codes, the session lifecycle and broadcasts.
#include <thread>

#include "broker_tasks_fixture.h"
#include "protocol/any_payload.h"
#include "protocol/codec.h"

namespace wasimoff::testing {
namespace {

unsigned refused_status(TestProviderOptions options) {
  try {
    TestProvider p(std::move(options));
  } catch (const HandshakeRefused& e) {
    return e.status;
  }
  return 101;
}

std::string upgrade_request(const std::string& target, const std::string& extra_headers) {
  // "close" makes the server end the connection after a refusal, so raw_exchange returns at once.
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Protocol: wasimoff_provider_v1_protobuf\r\n" +
         extra_headers + "\r\n";
}

TEST_F(BrokerTasks, NoCommonSubprotocolClosesWith1002) {
  start_broker();
  for (std::vector<std::string> offered :
       {std::vector<std::string>{"chat"}, std::vector<std::string>{}}) {
    auto o = provider_options("wrong-proto");
    o.subprotocols = offered;
    TestProvider p(o);
    EXPECT_EQ(p.subprotocol(), "");
    ASSERT_TRUE(p.wait_disconnected());
    auto frame = p.close_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->code, 1002);
    EXPECT_EQ(frame->reason,
              "supported protocols: wasimoff_provider_v1_protobuf, wasimoff_provider_v1_json");
    EXPECT_EQ(p.listing_requests(), 0u);
  }
  EXPECT_TRUE(debug_state().at("providers").as_array().empty());
}

TEST_F(BrokerTasks, TextFrameOnProtobufSocketClosesWith1003) {
  start_broker();
  auto p = connect_provider("texter");
  p->send_raw(R"({"type":"Event"})", true);
  ASSERT_TRUE(p->wait_disconnected());
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1003);
  EXPECT_EQ(p->close_frame()->reason,
            "sent MessageText to a wasimoff_provider_v1_protobuf transport");
  ASSERT_TRUE(wait_until([&] { return debug_state().at("providers").as_array().empty(); }));
}

TEST_F(BrokerTasks, BinaryFrameOnJsonSocketClosesWith1003) {
  start_broker();
  auto o = provider_options("binary-on-json");
  o.subprotocols = {"wasimoff_provider_v1_json"};
  auto p = connect_provider(o);
  p->send_raw(std::string("\x08\x01", 2), false);
  ASSERT_TRUE(p->wait_disconnected());
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1003);
  EXPECT_EQ(p->close_frame()->reason,
            "sent MessageBinary to a wasimoff_provider_v1_json transport");
}

TEST_F(BrokerTasks, UndecodableEnvelopeClosesWith1002) {
  start_broker();
  auto p = connect_provider("garbage");
  p->send_raw(std::string("\xff\xff\xff", 3), false);
  ASSERT_TRUE(p->wait_disconnected());
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1002);
}

TEST_F(BrokerTasks, OversizedMessageClosesWith1009) {
  start_broker({{"WASIMOFF_MAX_MESSAGE_SIZE", "1MiB"}});
  auto p = connect_provider("big");
  p->send_raw(std::string((1u << 20) + 4096, 'x'), false);
  ASSERT_TRUE(p->wait_disconnected());
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1009);
}

TEST_F(BrokerTasks, UpgradeChecksUserAgentOriginAndUpgrade) {
  start_broker({{"WASIMOFF_ALLOWED_ORIGINS", "*.example.org"}});
  auto o = provider_options("checks");
  o.user_agent.reset();
  EXPECT_EQ(refused_status(o), 400u);
  o.user_agent = "   ";
  EXPECT_EQ(refused_status(o), 400u);
  o.user_agent = "ua";
  o.origin = "https://evil.example.com";
  EXPECT_EQ(refused_status(o), 403u);
  o.origin = "https://app.example.org";  // matches the allowed pattern
  EXPECT_EQ(refused_status(o), 101u);
  o.origin = "http://127.0.0.1:" + std::to_string(broker().port());  // same host
  EXPECT_EQ(refused_status(o), 101u);

  auto raw = raw_exchange(broker().port(), upgrade_request("/api/provider/ws", ""));
  EXPECT_EQ(raw_status(raw), 400u);
  EXPECT_NE(raw.find("no user-agent"), std::string::npos) << raw;
  auto plain = raw_exchange(
      broker().port(),
      "GET /api/provider/ws HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw_status(plain), 426u);
  EXPECT_NE(plain.find("Upgrade: websocket"), std::string::npos) << plain;
}

TEST_F(BrokerTasks, ProviderTokenIsRequiredBeforeAnythingElse) {
  start_broker({{"WASIMOFF_PROVIDER_TOKEN", "s3cret"}});
  auto o = provider_options("tokened");
  EXPECT_EQ(refused_status(o), 401u);
  o.token = "wrong";
  EXPECT_EQ(refused_status(o), 401u);
  o.token.reset();
  o.bearer = "s3cret";
  EXPECT_EQ(refused_status(o), 101u);
  o.bearer.reset();
  o.token = "s3cret";
  EXPECT_EQ(refused_status(o), 101u);
  // The token is checked first: no token and no user agent is 401, not 400.
  auto raw = raw_exchange(broker().port(), upgrade_request("/api/provider/ws", ""));
  EXPECT_EQ(raw_status(raw), 401u);
  EXPECT_NE(raw.find("WWW-Authenticate: Bearer"), std::string::npos) << raw;
}

TEST_F(BrokerTasks, ProviderNameDefaultsAndIsBounded) {
  start_broker();
  auto o = provider_options("x");
  o.name.reset();
  auto anon = connect_provider(o);
  EXPECT_FALSE(debug_provider("anonymous").is_null());
  o.name = std::string(128, 'n');
  auto longname = connect_provider(o);
  EXPECT_FALSE(debug_provider(std::string(128, 'n')).is_null());
  // Longer names are refused rather than cut (provider_names_test.cc has the whole rule).
  o.name = std::string(200, 'n');
  EXPECT_EQ(refused_status(o), 400u);
  auto p = debug_provider("anonymous");
  EXPECT_EQ(p.at("useragent").as_string(), "wasimoff-test-provider/1");
  EXPECT_EQ(p.at("transport").as_string(), "websocket");
}

TEST_F(BrokerTasks, ForwardedAddressIsShownForDisplay) {
  start_broker();
  auto o = provider_options("proxied");
  o.headers = {{"X-Forwarded-For", "203.0.113.7, 10.0.0.1"}};
  auto proxied = connect_provider(o);
  EXPECT_EQ(debug_provider("proxied").at("address").as_string(), "203.0.113.7");
  auto direct = connect_provider("direct");
  EXPECT_TRUE(
      std::string(debug_provider("direct").at("address").as_string()).starts_with("127.0.0.1:"));
}

TEST_F(BrokerTasks, LegacyHelloNamesAnAnonymousProvider) {
  start_broker();
  auto o = provider_options("x");
  o.name.reset();
  auto p = connect_provider(o);
  v1::Event::ProviderHello hello;
  hello.set_name("old-browser");
  hello.set_useragent("Mozilla/5.0");
  p->send_event(hello);
  ASSERT_TRUE(wait_until([&] { return !debug_provider("old-browser").is_null(); }));
  // The user agent of the connection is not replaced (it was not a default).
  EXPECT_EQ(debug_provider("old-browser").at("useragent").as_string(), "wasimoff-test-provider/1");
  // A named provider keeps its name.
  auto named = connect_provider("named");
  named->send_event(hello);
  EXPECT_EQ(stdout_of(run_ok({"x"})), "x\n");
  EXPECT_FALSE(debug_provider("named").is_null());
}

TEST_F(BrokerTasks, ResourcesAndFileUpdatesShowInState) {
  start_broker();
  // Refs the Broker's storage holds (others are not remembered, provider_files_test.cc).
  const std::string a = upload(tiny_wasm("a"), "a.wasm"), b = upload(tiny_wasm("b"), "b.wasm"),
                    c = upload(tiny_wasm("c"), "c.wasm");
  auto o = provider_options("res", 3);
  o.files = {a, b};
  auto p = connect_provider(o);
  ASSERT_TRUE(wait_until([&] {
    auto s = debug_provider("res");
    return s.at("capacity").to_number<int>() == 3 && s.at("files").to_number<int>() == 2;
  }));
  // Absent fields leave values unchanged (docs/protocol.md §8): only `tasks` here.
  v1::Event::ProviderResources busy;
  busy.set_tasks(2);
  p->send_event(busy);
  ASSERT_TRUE(wait_until([&] { return debug_provider("res").at("busy").to_number<int>() == 2; }));
  EXPECT_EQ(debug_provider("res").at("capacity").to_number<int>(), 3);
  p->add_files({c});
  p->remove_files({a});
  ASSERT_TRUE(wait_until([&] { return debug_provider("res").at("files").to_number<int>() == 2; }));
  // Legacy ProviderHello and GenericMessage are accepted without harm.
  v1::Event::GenericMessage hello;
  hello.set_message("hi from the test");
  p->send_event(hello);
  EXPECT_EQ(stdout_of(run_ok({"fine"})), "fine\n");
}

TEST_F(BrokerTasks, BrokerAnswersProviderRequests) {
  start_broker();
  auto p = connect_provider("asker");
  auto envelope = [](std::uint64_t seq, const google::protobuf::Message& m) {
    v1::Envelope e;
    e.set_sequence(seq);
    e.set_type(v1::Envelope::Request);
    protocol::pack_any(m, e.mutable_payload());
    return protocol::encode(e, protocol::Codec::kBinary);
  };
  p->send_raw(envelope(41, v1::Ping()), false);
  v1::Filesystem::Probe::Request probe;
  probe.set_file("x");
  p->send_raw(envelope(42, probe), false);
  v1::Envelope no_payload;
  no_payload.set_sequence(43);
  no_payload.set_type(v1::Envelope::Request);
  p->send_raw(protocol::encode(no_payload, protocol::Codec::kBinary), false);
  auto response = [&](std::uint64_t seq) -> std::optional<v1::Envelope> {
    for (const auto& m : p->received())
      if (m.decoded && m.envelope.type() == v1::Envelope::Response && m.envelope.sequence() == seq)
        return m.envelope;
    return std::nullopt;
  };
  ASSERT_TRUE(p->wait_for([&] { return response(41) && response(42) && response(43); }));
  EXPECT_TRUE(response(41)->error().empty());
  EXPECT_TRUE(protocol::any_is<v1::Ping>(response(41)->payload()));
  EXPECT_EQ(response(42)->error(), "not implemented");
  EXPECT_EQ(response(43)->error(), "missing payload");
  EXPECT_TRUE(p->connected());
}

TEST_F(BrokerTasks, ListingTimeoutNeverRegisters) {
  start_broker();
  auto o = provider_options("mute");
  o.answer_listing = false;
  TestProvider p(o);
  ASSERT_TRUE(p.wait_disconnected(30s));
  ASSERT_TRUE(p.close_frame().has_value());
  EXPECT_EQ(p.close_frame()->code, 1011);
  EXPECT_EQ(p.close_frame()->reason, "listing timeout");
  EXPECT_EQ(p.events_of<v1::Event::ClusterInfo>().size(), 0u);
  EXPECT_TRUE(debug_state().at("providers").as_array().empty());
}

// docs/protocol.md §8 step 3: the newcomer gets the count at once, the others a coalesced update
// within about a second (at most one per second, only when the count changed).
TEST_F(BrokerTasks, ClusterInfoReachesNewcomersAtOnceAndOthersCoalesced) {
  start_broker();
  auto counts = [](const TestProvider& p) {
    std::vector<std::uint32_t> out;
    for (const auto& c : p.events_of<v1::Event::ClusterInfo>()) out.push_back(c.providers());
    return out;
  };
  auto latest = [&](const TestProvider& p) {
    auto c = counts(p);
    return c.empty() ? 0u : c.back();
  };
  auto a = connect_provider("a");
  EXPECT_EQ(counts(*a), std::vector<std::uint32_t>{1});  // registered = got the first one
  auto b = connect_provider("b");
  EXPECT_EQ(counts(*b), std::vector<std::uint32_t>{2});
  ASSERT_TRUE(a->wait_for([&] { return latest(*a) == 2; }, 5s));
  b->close();
  ASSERT_TRUE(a->wait_for([&] { return latest(*a) == 1; }, 5s));
  auto c = connect_provider("c");
  c->kill();  // a crash is a leave as well
  ASSERT_TRUE(wait_until([&] { return debug_state().at("providers").as_array().size() == 1; }));
  std::this_thread::sleep_for(2500ms);  // any update still due has arrived now
  auto seen = counts(*a);
  EXPECT_EQ(seen.back(), 1u);
  // c joined and left within a second or two: a may or may not have seen the 2 in between, but
  // never the same count twice in a row.
  EXPECT_TRUE(seen == (std::vector<std::uint32_t>{1, 2, 1}) ||
              seen == (std::vector<std::uint32_t>{1, 2, 1, 2, 1}))
      << ::testing::PrintToString(seen);
}

TEST_F(BrokerTasks, ThroughputIsSentEverySecond) {
  start_broker();
  auto worker = connect_provider("worker", 2);
  auto idle = connect_provider("idle", 0);
  ASSERT_TRUE(
      worker->wait_for([&] { return worker->events_of<v1::Event::Throughput>().size() >= 3; }));
  for (const auto& t : worker->events_of<v1::Event::Throughput>()) {
    EXPECT_TRUE(t.has_overall());  // sent even when zero
    EXPECT_TRUE(t.has_yours());
  }
  for (int i = 0; i < 10; ++i) run_ok({std::to_string(i)});
  // The worker ran every task: its own rate equals the cluster's, the idle provider's is 0.
  ASSERT_TRUE(worker->wait_for([&] {
    auto ts = worker->events_of<v1::Event::Throughput>();
    return !ts.empty() && ts.back().overall() > 0 && ts.back().yours() == ts.back().overall();
  }));
  ASSERT_TRUE(idle->wait_for([&] {
    auto ts = idle->events_of<v1::Event::Throughput>();
    return !ts.empty() && ts.back().overall() > 0;
  }));
  EXPECT_EQ(idle->events_of<v1::Event::Throughput>().back().yours(), 0.0f);
  // Ten tasks over a 5 s window: never more than 10 / 5 = 2 tasks/s.
  for (const auto& t : worker->events_of<v1::Event::Throughput>()) EXPECT_LE(t.overall(), 2.0f);
}

TEST_F(BrokerTasks, PingRoundTripShowsInDebugState) {
  start_broker();
  auto p = connect_provider("pinged");
  EXPECT_TRUE(debug_provider("pinged").at("ping_ms").is_null());
  ASSERT_TRUE(wait_until([&] { return !debug_provider("pinged").at("ping_ms").is_null(); }, 30s));
  EXPECT_GE(p->pings(), 1u);
  EXPECT_GE(debug_provider("pinged").at("ping_ms").to_number<double>(), 0.0);
}

TEST_F(BrokerTasks, PingErrorCountsAsAnAnswer) {
  // Older providers answer Ping with "not implemented"; that still measures the round trip.
  start_broker();
  auto o = provider_options("old-pinger");
  o.ping_error = "not implemented yet";
  auto p = connect_provider(o);
  ASSERT_TRUE(
      wait_until([&] { return !debug_provider("old-pinger").at("ping_ms").is_null(); }, 30s));
  EXPECT_GE(p->pings(), 1u);
  EXPECT_TRUE(p->connected());
}

}  // namespace
}  // namespace wasimoff::testing
