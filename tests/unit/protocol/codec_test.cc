// Byte-exact test vectors of docs/protocol.md §5 and JSON round-trips of §4.2.
#include "protocol/codec.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "protocol/any_payload.h"

namespace wasimoff::protocol {
namespace {

using v1::Envelope;

std::string unhex(std::string_view hex) {
  return hex_decode(hex).value();
}

Envelope envelope(uint64_t seq, Envelope::MessageType type,
                  const google::protobuf::Message* payload) {
  Envelope e;
  e.set_sequence(seq);
  e.set_type(type);
  if (payload) pack_any(*payload, e.mutable_payload());
  return e;
}

struct Vector {
  const char* name;
  Envelope envelope;
  std::string hex;
};

std::vector<Vector> vectors() {
  std::vector<Vector> out;
  {
    v1::Filesystem::Listing::Request m;
    out.push_back(
        {"listing request", envelope(1, Envelope::Request, &m),
         "0801100122310a2f" + hex_encode("wasimoff/wasimoff.v1.Filesystem.Listing.Request")});
  }
  {
    v1::Event::ProviderResources m;
    m.set_concurrency(4);
    m.set_tasks(0);
    out.push_back({"provider resources", envelope(0, Envelope::Event, &m),
                   "0800100322340a2c776173696d6f66662f776173696d6f66662e76312e4576656e742e50726f76"
                   "696465725265736f7572636573120408041000"});
  }
  {
    v1::Ping m;
    out.push_back({"ping", envelope(2, Envelope::Request, &m),
                   "08021001221b0a19776173696d6f66662f776173696d6f66662e76312e50696e67"});
  }
  {
    v1::Event::ClusterInfo m;
    m.set_providers(1);
    out.push_back({"cluster info", envelope(1, Envelope::Event, &m),
                   "08011003222c0a26776173696d6f66662f776173696d6f66662e76312e4576656e742e436c75"
                   "73746572496e666f12020801"});
  }
  {
    Envelope e = envelope(5, Envelope::Response, nullptr);
    e.set_error("not implemented yet");
    out.push_back({"error response", e, "080510021a136e6f7420696d706c656d656e74656420796574"});
  }
  {
    v1::Task::Cancel m;
    m.set_id("17");
    m.set_reason("context canceled");
    out.push_back({"cancel", envelope(4, Envelope::Request, &m),
                   "08041001223a0a20776173696d6f66662f776173696d6f66662e76312e5461736b2e43616e6365"
                   "6c12160a0231371210636f6e746578742063616e63656c6564"});
  }
  {
    v1::Task::Wasip1::Response m;
    m.mutable_info()->set_id("17");
    m.mutable_ok()->set_status(0);
    m.mutable_ok()->set_stdout("hi\n");
    out.push_back({"wasip1 response", envelope(3, Envelope::Response, &m),
                   "08031002223c0a29776173696d6f66662f776173696d6f66662e76312e5461736b2e5761736970"
                   "312e526573706f6e7365120f0a040a0231371a070800120368690a"});
  }
  {
    v1::Event::Throughput m;
    m.set_overall(12.5f);
    out.push_back({"throughput", envelope(7, Envelope::Event, &m),
                   "08071003222e0a25776173696d6f66662f776173696d6f66662e76312e4576656e742e546872"
                   "6f75676870757412050d00004841"});
  }
  return out;
}

TEST(CodecVectors, EncodeMatchesSpecBytes) {
  for (const auto& v : vectors()) {
    EXPECT_EQ(hex_encode(encode(v.envelope, Codec::kBinary)), v.hex) << v.name;
  }
}

TEST(CodecVectors, DecodeAndReencodeIsByteIdentical) {
  for (const auto& v : vectors()) {
    Envelope decoded;
    ASSERT_EQ(decode(unhex(v.hex), Codec::kBinary, &decoded), "") << v.name;
    EXPECT_EQ(hex_encode(encode(decoded, Codec::kBinary)), v.hex) << v.name;
  }
}

TEST(CodecVectors, JsonRoundTripPreservesBinaryForm) {
  for (const auto& v : vectors()) {
    std::string json = encode(v.envelope, Codec::kJson);
    Envelope back;
    ASSERT_EQ(decode(json, Codec::kJson, &back), "") << v.name << ": " << json;
    EXPECT_EQ(hex_encode(encode(back, Codec::kBinary)), v.hex) << v.name << ": " << json;
  }
}

TEST(CodecJson, WritesCanonicalForm) {
  v1::Filesystem::Listing::Request listing;
  EXPECT_EQ(
      encode_json(envelope(1, Envelope::Request, &listing)),
      R"({"sequence":"1","type":"Request","payload":{"@type":"wasimoff/wasimoff.v1.Filesystem.Listing.Request"}})");

  v1::Event::ProviderResources res;
  res.set_concurrency(4);
  res.set_tasks(0);
  EXPECT_EQ(
      encode_json(envelope(0, Envelope::Event, &res)),
      R"({"sequence":"0","type":"Event","payload":{"@type":"wasimoff/wasimoff.v1.Event.ProviderResources","concurrency":4,"tasks":0}})");

  v1::Task::Wasip1::Response resp;
  resp.mutable_info()->set_id("17");
  resp.mutable_ok()->set_status(0);
  resp.mutable_ok()->set_stdout("hi\n");
  EXPECT_EQ(
      encode_json(envelope(3, Envelope::Response, &resp)),
      R"({"sequence":"3","type":"Response","payload":{"@type":"wasimoff/wasimoff.v1.Task.Wasip1.Response","info":{"id":"17"},"ok":{"status":0,"stdout":"aGkK"}}})");
}

TEST(CodecJson, AcceptsLenientInput) {
  // Numbers for 64-bit ints, enum numbers, other Any prefixes, unknown fields, URL-safe base64.
  Envelope e;
  ASSERT_EQ(decode_json(R"({"sequence":5,"type":2,"unknownField":{"x":1},
      "payload":{"@type":"type.googleapis.com/wasimoff.v1.Task.Wasip1.Response",
                 "ok":{"status":"3","stdout":"aGkK"}}})",
                        &e),
            "");
  EXPECT_EQ(e.sequence(), 5u);
  EXPECT_EQ(e.type(), Envelope::Response);
  v1::Task::Wasip1::Response r;
  ASSERT_EQ(unpack_any(e.payload(), &r), UnpackStatus::kOk);
  EXPECT_EQ(r.ok().status(), 3);
  EXPECT_EQ(r.ok().stdout(), "hi\n");
}

TEST(CodecJson, UnknownEnumNameDecodesAsUnset) {
  Envelope e;
  ASSERT_EQ(decode_json(R"({"sequence":"1","type":"Bogus"})", &e), "");
  EXPECT_FALSE(e.has_type());
}

TEST(CodecJson, AcceptsAnyWithoutPrefix) {
  Envelope e;
  ASSERT_EQ(decode_json(R"({"type":"Request","payload":{"@type":"wasimoff.v1.Ping"}})", &e), "");
  EXPECT_TRUE(any_is<v1::Ping>(e.payload()));
}

TEST(CodecJson, RejectsMalformedJson) {
  Envelope e;
  EXPECT_NE(decode_json("{not json", &e), "");
  EXPECT_NE(decode_json(R"({"sequence":"abc"})", &e), "");
}

TEST(CodecBinary, RejectsGarbage) {
  Envelope e;
  EXPECT_NE(decode(std::string("\xff\xff\xff\xff", 4), Codec::kBinary, &e), "");
}

TEST(AnyPayload, ResolvesBySuffix) {
  google::protobuf::Any any;
  any.set_type_url("anything/at/all/wasimoff.v1.Ping");
  EXPECT_TRUE(any_is<v1::Ping>(any));
  any.set_type_url("wasimoff.v1.Ping");
  EXPECT_TRUE(any_is<v1::Ping>(any));
  bool bad = false;
  EXPECT_NE(unpack_any_dynamic(any, &bad), nullptr);
  any.set_type_url("wasimoff/wasimoff.v1.DoesNotExist");
  EXPECT_EQ(unpack_any_dynamic(any, &bad), nullptr);
  EXPECT_FALSE(bad);
  any.set_type_url("wasimoff/wasimoff.v1.Task.Cancel");
  any.set_value("\xff\xff");
  EXPECT_EQ(unpack_any_dynamic(any, &bad), nullptr);
  EXPECT_TRUE(bad);
}

TEST(AnyPayload, EmptyMessageHasOnlyTypeUrl) {
  auto any = make_any(v1::Ping());
  EXPECT_EQ(any.type_url(), "wasimoff/wasimoff.v1.Ping");
  EXPECT_TRUE(any.value().empty());
}

}  // namespace
}  // namespace wasimoff::protocol
