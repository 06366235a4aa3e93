// The JSON codec as the Connect API and the JSON subprotocol use it (docs/protocol.md §4.2), for
// the parts clients rely on: Timestamps (qos.deadline) and Any payloads.
#include <gtest/gtest.h>

#include "protocol/any_payload.h"
#include "protocol/codec.h"

namespace wasimoff::protocol {
namespace {

TEST(ConnectJson, DeadlineIsAnRfc3339String) {
  v1::Task::Wasip1::Request r;
  auto err = decode_json(R"({"qos":{"deadline":"2030-01-01T00:00:00Z","priority":true}})", &r);
  ASSERT_EQ(err, "");
  EXPECT_EQ(r.qos().deadline().seconds(), 1893456000);
  EXPECT_TRUE(r.qos().priority());
  EXPECT_EQ(encode_json(r), R"({"qos":{"priority":true,"deadline":"2030-01-01T00:00:00Z"}})");

  // Offsets and fractions are accepted.
  ASSERT_EQ(decode_json(R"({"qos":{"deadline":"2030-01-01T01:00:00.250+01:00"}})", &r), "");
  EXPECT_EQ(r.qos().deadline().seconds(), 1893456000);
  EXPECT_EQ(r.qos().deadline().nanos(), 250000000);
  EXPECT_NE(decode_json(R"({"qos":{"deadline":"tomorrow"}})", &r), "");
}

TEST(ConnectJson, AnyKeepsItsPrefixAndAcceptsOthers) {
  v1::Envelope e;
  e.set_sequence(3);
  e.set_type(v1::Envelope::Event);
  v1::Event::ClusterInfo info;
  info.set_providers(2);
  pack_any(info, e.mutable_payload());
  EXPECT_EQ(
      encode_json(e),
      R"({"sequence":"3","type":"Event","payload":{"@type":"wasimoff/wasimoff.v1.Event.ClusterInfo","providers":2}})");
  for (std::string prefix : {"wasimoff/", "type.googleapis.com/", "example.org/x/"}) {
    v1::Envelope back;
    auto json = R"({"sequence":3,"type":"Event","payload":{"@type":")" + prefix +
                R"(wasimoff.v1.Event.ClusterInfo","providers":"2"}})";
    ASSERT_EQ(decode_json(json, &back), "") << prefix;
    v1::Event::ClusterInfo got;
    ASSERT_EQ(unpack_any(back.payload(), &got), UnpackStatus::kOk) << prefix;
    EXPECT_EQ(got.providers(), 2u);
  }
}

TEST(ConnectJson, TaskTraceTimesAreStringsAndUnknownEnumNamesAreIgnored) {
  v1::Task::Metadata m;
  auto* ev = m.mutable_trace()->add_events();
  ev->set_unixnano(1700000000123456789);
  ev->set_event(v1::Task::TraceEvent::BrokerQueueTask);
  EXPECT_EQ(
      encode_json(m),
      R"({"trace":{"events":[{"unixnano":"1700000000123456789","event":"BrokerQueueTask"}]}})");
  v1::Task::Metadata back;
  ASSERT_EQ(
      decode_json(R"({"trace":{"events":[{"unixnano":5,"event":"SomethingNew"},{"event":40}]}})",
                  &back),
      "");
  ASSERT_EQ(back.trace().events_size(), 2);
  EXPECT_EQ(back.trace().events(0).unixnano(), 5);
  EXPECT_FALSE(back.trace().events(0).has_event());
  EXPECT_EQ(back.trace().events(1).event(), v1::Task::TraceEvent::ArtDecoSchedulerScheduled);
}

}  // namespace
}  // namespace wasimoff::protocol
