// Strict JSON shapes (check_json_shape) and how JSON Envelopes with unknown or undecodable
// payloads decode (docs/protocol.md §3.5).
#include <gtest/gtest.h>

#include "protocol/any_payload.h"
#include "protocol/codec.h"

namespace wasimoff::protocol {
namespace {

using v1::Envelope;

std::string wasip1(std::string_view json) {
  return check_json_shape(json, v1::Task::Wasip1::Request::descriptor());
}

TEST(JsonShape, WellFormedRequestsPass) {
  for (
      std::string_view ok : {
          R"({})",
          R"({"params":{"binary":{"ref":"a.wasm"},"args":["a","b"],"envs":[],"stdin":"aGk="}})",
          R"({"params":null,"info":null,"qos":null})",
          R"({"params":{"args":null,"binary":null}})",
          R"({"qos":{"priority":true,"immediate":false,"deadline":"2030-01-01T00:00:00Z"}})",
          R"({"info":{"trace":{"created":"17","events":[{"event":"BrokerQueueTask","unixnano":5}]}}})",
          R"({"info":{"trace":{"events":[{"event":21}]}}})",                   // enums as numbers
          R"({"params":{"binary":{"ref":"a"}},"unknownKey":[[1],{"x":[]}]})",  // unknown: ignored
          R"({"params":{"rootfs":{"blob":"UEsFBg=="}}})",
      }) {
    EXPECT_EQ(wasip1(ok), "") << ok;
  }
  // JSON names and proto names are both accepted (they are the same in this schema).
  EXPECT_EQ(check_json_shape(R"({"tasks":[{"args":["x"]},{}],"parent":{"envs":["A=1"]}})",
                             v1::Task::Wasip1::JobRequest::descriptor()),
            "");
  // Numbers may be strings (64-bit integers), floats numbers.
  EXPECT_EQ(check_json_shape(R"({"concurrency":"4","tasks":3})",
                             v1::Event::ProviderResources::descriptor()),
            "");
  EXPECT_EQ(
      check_json_shape(R"({"overall":1.5,"yours":"NaN"})", v1::Event::Throughput::descriptor()),
      "");
}

TEST(JsonShape, ListsMustBeListsOfSingleValues) {
  EXPECT_EQ(wasip1(R"({"params":{"args":"a.wasm"}})"),
            "params.args: expected a list, got a string");
  EXPECT_EQ(wasip1(R"({"params":{"args":[["a","b"]]}})"), "params.args[0]: a list inside a list");
  EXPECT_EQ(wasip1(R"({"params":{"envs":["A=1",null]}})"), "params.envs[1]: null in a list");
  EXPECT_EQ(wasip1(R"({"params":{"artifacts":{"a":1}}})"),
            "params.artifacts: expected a list, got an object");
  EXPECT_EQ(wasip1(R"({"params":{"args":[1]}})"),
            "params.args[0]: expected a string, got a number");
  EXPECT_EQ(check_json_shape(R"({"tasks":{}})", v1::Task::Wasip1::JobRequest::descriptor()),
            "tasks: expected a list, got an object");
  EXPECT_EQ(check_json_shape(R"({"tasks":[[{}]]})", v1::Task::Wasip1::JobRequest::descriptor()),
            "tasks[0]: a list inside a list");
  EXPECT_EQ(
      check_json_shape(R"({"tasks":[{"args":"x"}]})", v1::Task::Wasip1::JobRequest::descriptor()),
      "tasks[0].args: expected a list, got a string");
}

TEST(JsonShape, SingleValuesMustNotBeListsOrObjects) {
  EXPECT_EQ(wasip1(R"({"params":[{"binary":{"ref":"a"}}]})"),
            "params: expected an object, got a list");
  EXPECT_EQ(wasip1(R"({"params":{"binary":"a.wasm"}})"),
            "params.binary: expected an object, got a string");
  EXPECT_EQ(wasip1(R"({"params":{"binary":{"ref":["a.wasm"]}}})"),
            "params.binary.ref: expected a string, got a list");
  EXPECT_EQ(wasip1(R"({"params":{"stdin":{"x":1}}})"),
            "params.stdin: expected a string, got an object");
  EXPECT_EQ(wasip1(R"({"qos":{"priority":[true]}})"),
            "qos.priority: expected true or false, got a list");
  EXPECT_EQ(wasip1(R"({"qos":{"priority":"yes"}})"),
            "qos.priority: expected true or false, got a string");
  EXPECT_EQ(wasip1(R"({"info":{"trace":{"events":[{"event":["BrokerError"]}]}}})"),
            "info.trace.events[0].event: expected an enum name or number, got a list");
  EXPECT_EQ(check_json_shape(R"({"concurrency":[5]})", v1::Event::ProviderResources::descriptor()),
            "concurrency: expected a number, got a list");
  EXPECT_EQ(check_json_shape(R"({"concurrency":true})", v1::Event::ProviderResources::descriptor()),
            "concurrency: expected a number, got true/false");
}

TEST(JsonShape, WellKnownTypesAndTopLevel) {
  EXPECT_EQ(wasip1(R"({"qos":{"deadline":{"seconds":1}}})"),
            "qos.deadline: expected a string, got an object");
  EXPECT_EQ(wasip1(R"({"qos":{"deadline":5}})"), "qos.deadline: expected a string, got a number");
  EXPECT_EQ(wasip1(R"([{"params":{}}])"), "(top level): expected an object, got a list");
  EXPECT_EQ(wasip1("null"), "(top level): expected an object, got null");
  EXPECT_EQ(wasip1("7"), "(top level): expected an object, got a number");
  EXPECT_TRUE(wasip1("{oops").starts_with("not JSON: ")) << wasip1("{oops");
}

TEST(JsonShape, AnyPayloadsAreCheckedAgainstTheirType) {
  const auto* env = Envelope::descriptor();
  EXPECT_EQ(check_json_shape(R"({"payload":{"@type":"wasimoff/wasimoff.v1.Event.ProviderResources",
                                            "concurrency":[5]}})",
                             env),
            "payload.concurrency: expected a number, got a list");
  // Not descending leaves the payload to the caller; the Any must still be an object.
  EXPECT_EQ(check_json_shape(R"({"payload":{"@type":"wasimoff/wasimoff.v1.Event.ProviderResources",
                                            "concurrency":[5]}})",
                             env, false),
            "");
  EXPECT_EQ(check_json_shape(R"({"payload":[1]})", env, false),
            "payload: expected an object, got a list");
  // Unknown types and well-known types in an Any.
  EXPECT_EQ(check_json_shape(R"({"payload":{"@type":"example.Unknown","x":[[1]]}})", env), "");
  EXPECT_EQ(
      check_json_shape(
          R"({"payload":{"@type":"type.googleapis.com/google.protobuf.Duration","value":[1]}})",
          env),
      "payload.value: expected a string, got a list");
  EXPECT_EQ(check_json_shape(R"({"sequence":["1"],"type":"Event"})", env),
            "sequence: expected a number, got a list");
}

TEST(JsonEnvelope, UnknownPayloadTypeDecodesAsAnUnknownType) {
  Envelope e;
  ASSERT_EQ(decode_json(R"({"sequence":"9","type":"Event","payload":
                            {"@type":"wasimoff/wasimoff.v1.Event.SomethingNew","level":[3,{"a":1}]}})",
                        &e),
            "");
  EXPECT_EQ(e.sequence(), 9u);
  EXPECT_EQ(e.type(), Envelope::Event);
  EXPECT_EQ(e.payload().type_url(), "wasimoff/wasimoff.v1.Event.SomethingNew");
  bool bad = true;
  EXPECT_EQ(unpack_any_dynamic(e.payload(), &bad), nullptr);
  EXPECT_FALSE(bad);  // unknown, not undecodable
  EXPECT_EQ(e.error(), "");
  ASSERT_EQ(decode_json(R"({"type":"Request","payload":{"@type":"type.googleapis.com/x.Y"}})", &e),
            "");
  EXPECT_EQ(e.payload().type_url(), "type.googleapis.com/x.Y");
}

TEST(JsonEnvelope, UndecodablePayloadOfAKnownTypeIsMarked) {
  Envelope e;
  // A shape problem inside the payload.
  ASSERT_EQ(decode_json(R"({"sequence":"3","type":"Request","payload":
                            {"@type":"wasimoff/wasimoff.v1.Task.Cancel","id":["x"]}})",
                        &e),
            "");
  EXPECT_EQ(e.type(), Envelope::Request);
  EXPECT_EQ(e.payload().type_url(), "wasimoff/wasimoff.v1.Task.Cancel");
  EXPECT_EQ(e.payload().value(), kUndecodablePayload);
  EXPECT_EQ(e.error(), "payload.id: expected a string, got a list");
  bool bad = false;
  EXPECT_EQ(unpack_any_dynamic(e.payload(), &bad), nullptr);
  EXPECT_TRUE(bad);
  // A problem only libprotobuf finds (a number that is not one).
  ASSERT_EQ(decode_json(R"({"type":"Event","payload":
                            {"@type":"wasimoff/wasimoff.v1.Event.ProviderResources","concurrency":"many"}})",
                        &e),
            "");
  EXPECT_EQ(e.payload().value(), kUndecodablePayload);
  EXPECT_FALSE(e.error().empty());
  // On a Response the error field keeps its meaning: it is not used for the reason.
  ASSERT_EQ(decode_json(R"({"type":"Response","payload":
                            {"@type":"wasimoff/wasimoff.v1.Task.Wasip1.Response","ok":{"status":[1]}}})",
                        &e),
            "");
  EXPECT_EQ(e.payload().value(), kUndecodablePayload);
  EXPECT_EQ(e.error(), "");
}

TEST(JsonEnvelope, ProblemsOutsideThePayloadStayErrors) {
  Envelope e;
  EXPECT_EQ(decode_json(R"({"sequence":["1"],"type":"Event"})", &e),
            "invalid JSON: sequence: expected a number, got a list");
  EXPECT_NE(
      decode_json(R"({"sequence":"abc","payload":{"@type":"wasimoff/wasimoff.v1.Ping"}})", &e), "");
  EXPECT_NE(decode_json(R"({"type":"Event","payload":"text"})", &e), "");
  EXPECT_NE(decode_json(R"({"type":"Event","payload":{"concurrency":1}})", &e), "");  // no @type
  EXPECT_NE(decode_json("[]", &e), "");
}

TEST(JsonMessages, DecodeRefusesWrongShapesNamingTheField) {
  v1::Task::Wasip1::Request r;
  EXPECT_EQ(decode_json(R"({"params":{"args":"x"}})", &r),
            "invalid JSON: params.args: expected a list, got a string");
  EXPECT_EQ(decode_json(R"({"params":{"binary":{"ref":"x"}},"qos":{"priority":[[true]]}})", &r),
            "invalid JSON: qos.priority: expected true or false, got a list");
  ASSERT_EQ(decode_json(R"({"params":{"args":["a","b"],"envs":null}})", &r), "");
  EXPECT_EQ(r.params().args_size(), 2);
}

}  // namespace
}  // namespace wasimoff::protocol
