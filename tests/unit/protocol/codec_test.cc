// Byte-exact test vectors of docs/protocol.md §5 (tests/data/wire_vectors.json) and JSON
// round-trips of §4.2.
#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/strings.h"
#include "protocol/any_payload.h"
#include "wire_vectors.h"

namespace wasimoff::protocol {
namespace {

using v1::Envelope;

using testing::wire_vectors;
using testing::WireVector;

Envelope envelope(uint64_t seq, Envelope::MessageType type,
                  const google::protobuf::Message* payload) {
  Envelope e;
  e.set_sequence(seq);
  e.set_type(type);
  if (payload) pack_any(*payload, e.mutable_payload());
  return e;
}

// The Envelope each vector of tests/data/wire_vectors.json stands for, built with the protobuf
// API; nullopt for a name this test does not know (a new vector needs its Envelope here).
std::optional<Envelope> build(const std::string& name) {
  if (name == "listing request") {
    v1::Filesystem::Listing::Request m;
    return envelope(1, Envelope::Request, &m);
  }
  if (name == "provider resources" || name == "browser resources") {
    v1::Event::ProviderResources m;
    m.set_concurrency(name == "provider resources" ? 4 : 1);
    m.set_tasks(0);
    return envelope(name == "provider resources" ? 0 : 1, Envelope::Event, &m);
  }
  if (name == "ping" || name == "ping response") {
    v1::Ping m;
    return envelope(2, name == "ping" ? Envelope::Request : Envelope::Response, &m);
  }
  if (name == "cluster info") {
    v1::Event::ClusterInfo m;
    m.set_providers(1);
    return envelope(1, Envelope::Event, &m);
  }
  if (name == "error response") {
    Envelope e = envelope(5, Envelope::Response, nullptr);
    e.set_error("not implemented yet");
    return e;
  }
  if (name == "coded error response") {  // ours: the Connect code beside the text (field 5)
    Envelope e = envelope(6, Envelope::Response, nullptr);
    e.set_error("file not found in storage: sha256:00");
    e.set_code("not_found");
    return e;
  }
  if (name == "cancel") {
    v1::Task::Cancel m;
    m.set_id("17");
    m.set_reason("context canceled");
    return envelope(4, Envelope::Request, &m);
  }
  if (name == "wasip1 response") {
    v1::Task::Wasip1::Response m;
    m.mutable_info()->set_id("17");
    m.mutable_ok()->set_status(0);
    m.mutable_ok()->set_stdout("hi\n");
    return envelope(3, Envelope::Response, &m);
  }
  if (name == "throughput") {
    v1::Event::Throughput m;
    m.set_overall(12.5f);
    return envelope(7, Envelope::Event, &m);
  }
  if (name == "listing response") {
    v1::Filesystem::Listing::Response m;
    return envelope(1, Envelope::Response, &m);
  }
  return std::nullopt;
}

Envelope built(const WireVector& v) {
  auto e = build(v.name);
  if (!e) throw std::out_of_range("codec_test: no Envelope for vector " + v.name);
  return *e;
}

TEST(CodecVectors, EveryVectorIsKnownAndDescribedRightly) {
  std::set<int> spec;
  for (const auto& v : wire_vectors()) {
    auto e = build(v.name);
    ASSERT_TRUE(e) << "no Envelope in codec_test.cc for vector " << v.name;
    EXPECT_EQ(e->sequence(), v.sequence) << v.name;
    EXPECT_EQ(Envelope::MessageType_Name(e->type()), v.type) << v.name;
    EXPECT_EQ(e->has_payload() ? e->payload().type_url() : "",
              v.payload.empty() ? "" : "wasimoff/" + v.payload)
        << v.name;
    if (v.spec) spec.insert(v.spec);
  }
  EXPECT_EQ(spec, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8}));  // all of docs/protocol.md §5
}

TEST(CodecVectors, EncodeMatchesSpecBytes) {
  for (const auto& v : wire_vectors()) {
    EXPECT_EQ(hex_encode(encode(built(v), Codec::kBinary)), v.hex) << v.name;
  }
}

TEST(CodecVectors, DecodeAndReencodeIsByteIdentical) {
  for (const auto& v : wire_vectors()) {
    Envelope decoded;
    ASSERT_EQ(decode(v.bytes, Codec::kBinary, &decoded), "") << v.name;
    EXPECT_EQ(hex_encode(encode(decoded, Codec::kBinary)), v.hex) << v.name;
  }
}

TEST(CodecVectors, JsonRoundTripPreservesBinaryForm) {
  for (const auto& v : wire_vectors()) {
    std::string json = encode(built(v), Codec::kJson);
    Envelope back;
    ASSERT_EQ(decode(json, Codec::kJson, &back), "") << v.name << ": " << json;
    EXPECT_EQ(hex_encode(encode(back, Codec::kBinary)), v.hex) << v.name << ": " << json;
  }
}

TEST(CodecJson, WritesCanonicalForm) {
  for (const auto& v : wire_vectors()) {
    EXPECT_EQ(encode_json(built(v)), v.json) << v.name;
  }
}

TEST(CodecJson, VectorJsonFormsDecodeToTheVectorEnvelope) {
  for (const auto& v : wire_vectors()) {
    Envelope want;
    ASSERT_EQ(decode(v.bytes, Codec::kBinary, &want), "") << v.name;
    Envelope canonical;
    ASSERT_EQ(decode_json(v.json, &canonical), "") << v.name << ": " << v.json;
    EXPECT_EQ(hex_encode(encode(canonical, Codec::kBinary)), v.hex) << v.name;
    // The lenient forms may use another type URL prefix, which is kept as it is.
    auto type_name = [](const Envelope& e) {
      const auto& url = e.payload().type_url();
      return url.substr(url.rfind('/') + 1);
    };
    for (const auto& json : v.json_lenient) {
      Envelope e;
      ASSERT_EQ(decode_json(json, &e), "") << v.name << ": " << json;
      EXPECT_EQ(e.sequence(), want.sequence()) << json;
      EXPECT_EQ(e.type(), want.type()) << json;
      EXPECT_EQ(e.error(), want.error()) << json;
      EXPECT_EQ(type_name(e), type_name(want)) << json;
      EXPECT_EQ(hex_encode(e.payload().value()), hex_encode(want.payload().value())) << json;
    }
  }
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
