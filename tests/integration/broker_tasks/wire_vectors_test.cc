// The bytes on the wire are the test vectors of docs/protocol.md §5 (tests/data/wire_vectors.json):
// captured from what the test provider actually receives from the Broker (and, for the provider →
// Broker vectors, sent raw).
#include "wire_vectors.h"

#include "broker_tasks_fixture.h"
#include "common/strings.h"
#include "protocol/codec.h"

namespace wasimoff::testing {
namespace {

// The bytes of the vector called `name` in tests/data/wire_vectors.json.
const std::string& vector_bytes(std::string_view name) {
  return wire_vector(name).bytes;
}

// The first received message of `type` whose payload is `payload_type`.
std::optional<ReceivedMessage> first(const TestProvider& p, v1::Envelope::MessageType type,
                                     const std::string& payload_type) {
  for (const auto& m : p.received())
    if (m.decoded && m.envelope.type() == type &&
        m.envelope.payload().type_url() == "wasimoff/" + payload_type)
      return m;
  return std::nullopt;
}

// Takes task ids 1…16 with requests that fail validation (ids come from one global counter
// and are assigned before validation), so the next task gets id 17 like the vectors.
void use_up_sixteen_ids(const std::function<ClientResponse(const std::string&)>& rpc) {
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(rpc(R"({"params":{"binary":{"ref":"missing.wasm"}}})").status, 404u);
}

TEST_F(BrokerTasks, BrokerToProviderBytesMatchTheSpecVectors) {
  start_broker();
  auto p = connect_provider("vectors", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });

  auto listing = first(*p, v1::Envelope::Request, "wasimoff.v1.Filesystem.Listing.Request");
  ASSERT_TRUE(listing);
  const std::string& listing_vector = vector_bytes("listing request");  // vector 1
  EXPECT_EQ(hex_encode(listing->bytes), hex_encode(listing_vector));
  EXPECT_EQ(hex_encode(p->received().front().bytes),
            hex_encode(listing_vector));  // the very first message
  EXPECT_FALSE(p->received().front().text);

  auto cluster = first(*p, v1::Envelope::Event, "wasimoff.v1.Event.ClusterInfo");
  ASSERT_TRUE(cluster);
  EXPECT_EQ(hex_encode(cluster->bytes), hex_encode(vector_bytes("cluster info")));

  use_up_sixteen_ids([&](const std::string& body) { return rpc("RunWasip1", body); });
  ASSERT_TRUE(p->wait_for([&] { return p->pings() >= 1; }, 30s));  // Ping is Request seq 2
  auto ping = first(*p, v1::Envelope::Request, "wasimoff.v1.Ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(hex_encode(ping->bytes), hex_encode(vector_bytes("ping")));

  RawRequest raw(broker().port(),
                 raw_post("/api/client/wasimoff.v1.Tasks/RunWasip1", task_json({"x"})));
  ASSERT_TRUE(p->wait_running(1));
  EXPECT_EQ(p->requests()[0].info().id(), "17");
  raw.disconnect();
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  auto cancel = first(*p, v1::Envelope::Request, "wasimoff.v1.Task.Cancel");
  ASSERT_TRUE(cancel);
  if (cancel->envelope.sequence() == 4) {
    EXPECT_EQ(hex_encode(cancel->bytes), hex_encode(vector_bytes("cancel")));
  } else {
    // A second Ping (every 5 s) came in between and took sequence 4: the encoding must still be
    // the vector's, with only the sequence number differing.
    std::cout << "note: Task.Cancel had sequence " << cancel->envelope.sequence()
              << ", comparing with seq 4\n";
    v1::Envelope e = cancel->envelope;
    EXPECT_EQ(protocol::encode(e, protocol::Codec::kBinary), cancel->bytes);  // canonical encoding
    e.set_sequence(4);
    EXPECT_EQ(hex_encode(protocol::encode(e, protocol::Codec::kBinary)),
              hex_encode(vector_bytes("cancel")));
  }
}

TEST_F(BrokerTasks, ProviderToBrokerVectorsAreUnderstood) {
  start_broker();
  auto o = provider_options("raw-provider", 1);
  o.announce_resources = false;
  o.script = [](const auto&) { return TaskAction::no_answer(); };  // the test answers by hand
  auto p = connect_provider(o);
  p->send_raw(vector_bytes("provider resources"),
              false);  // vector 2: Event seq 0, concurrency 4, tasks 0
  ASSERT_TRUE(wait_until(
      [&] { return debug_provider("raw-provider").at("capacity").to_number<int>() == 4; }));

  use_up_sixteen_ids([&](const std::string& body) { return rpc("RunWasip1", body); });
  ASSERT_TRUE(p->wait_for([&] { return p->pings() >= 1; }, 30s));
  auto call = rpc_async("RunWasip1", task_json({"x"}));
  ASSERT_TRUE(p->wait_running(1));
  auto task = first(*p, v1::Envelope::Request, "wasimoff.v1.Task.Wasip1.Request");
  ASSERT_TRUE(task);
  if (p->pings() == 1) {
    EXPECT_EQ(task->envelope.sequence(), 3u);  // Listing 1, Ping 2, task 3
  }
  std::string answer =
      vector_bytes("wasip1 response");  // vector 7: Response seq 3, ok{status 0, stdout "hi\n"}
  answer[1] = static_cast<char>(task->envelope.sequence());  // only if a late Ping shifted it
  p->send_raw(answer, false);
  auto r = call.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = parse(r.body);
  EXPECT_EQ(stdout_of(body), "hi\n");
  EXPECT_EQ(body.at("ok").at("status").as_int64(), 0);  // present although zero
  EXPECT_EQ(body.at("info").at("id").as_string(), "17");
  EXPECT_EQ(body.at("info").at("provider").as_string(), "raw-provider");
}

TEST_F(BrokerTasks, JsonSubprotocolSpeaksCanonicalJson) {
  start_broker();
  auto o = provider_options("json-vectors", 1);
  o.subprotocols = {"wasimoff_provider_v1_json"};
  auto p = connect_provider(o);
  auto first_message = p->received().front();
  EXPECT_TRUE(first_message.text);
  EXPECT_EQ(first_message.bytes, wire_vector("listing request").json);
  // The provider's JSON events with sequence 0 (as the browser provider sends) are accepted.
  p->send_raw(wire_vector("provider resources").json, true);
  ASSERT_TRUE(wait_until(
      [&] { return debug_provider("json-vectors").at("capacity").to_number<int>() == 4; }));
  auto r = run_ok({"j"});
  EXPECT_EQ(stdout_of(r), "j\n");
}

}  // namespace
}  // namespace wasimoff::testing
