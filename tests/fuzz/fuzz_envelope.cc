// fuzz_envelope: the Envelope codecs (protocol/codec.h) on untrusted bytes, as the WebSocket and
// WebTransport transports and the Connect API receive them.
//
// Checks, for every input:
//  * binary: decode never crashes; when it succeeds, encode → decode succeeds again and yields
//    the same message (byte-identical serialisation, unknown fields included). A payload of a
//    wasimoff.v1 type that unpacks (unpack_any_dynamic) round-trips the same way.
//  * JSON: decode_json never crashes; when it succeeds, encode_json → decode_json succeeds again
//    and yields the same message. A payload of a known type that did not decode
//    (kUndecodablePayload, codec.h) keeps only its type through that round trip. Any payloads are
//    compared by their unpacked content, because the JSON parser writes an Any's inner fields in
//    the order the JSON text lists them.
//  * encode_json on whatever the binary decoder accepted never crashes.
#include <google/protobuf/any.pb.h>
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "protocol/any_payload.h"
#include "protocol/codec.h"
#include "wasimoff/v1/messages.pb.h"

namespace {

using wasimoff::protocol::Codec;
using wasimoff::v1::Envelope;

// Serialisation with the payload's inner message re-serialised in field-number order, so two
// Envelopes compare equal when they carry the same content.
std::string canonical(const Envelope& env) {
  Envelope copy = env;
  if (copy.has_payload()) {
    if (auto inner = wasimoff::protocol::unpack_any_dynamic(copy.payload())) {
      copy.mutable_payload()->set_value(inner->SerializeAsString());
    }
  }
  return copy.SerializeAsString();
}

void check_binary(std::string_view data) {
  Envelope first;
  if (!wasimoff::protocol::decode(data, Codec::kBinary, &first).empty()) return;
  const std::string bytes = wasimoff::protocol::encode(first, Codec::kBinary);
  Envelope second;
  FUZZ_CHECK(wasimoff::protocol::decode(bytes, Codec::kBinary, &second).empty(),
             "re-encoded binary Envelope does not decode");
  FUZZ_CHECK(second.SerializeAsString() == bytes, "binary Envelope round trip changed the message");

  if (first.has_payload()) {
    bool bad_payload = false;
    auto inner = wasimoff::protocol::unpack_any_dynamic(first.payload(), &bad_payload);
    if (inner) {
      const std::string inner_bytes = inner->SerializeAsString();
      std::unique_ptr<google::protobuf::Message> again(inner->New());
      FUZZ_CHECK(again->ParseFromString(inner_bytes), "re-encoded payload does not decode");
      FUZZ_CHECK(again->SerializeAsString() == inner_bytes,
                 "payload round trip changed the message");
    }
  }
  // The JSON printer must cope with anything the binary decoder accepted (unknown Any types,
  // invalid timestamps, ...); its output is not checked here.
  (void)wasimoff::protocol::encode_json(first);
}

void check_json(std::string_view data) {
  Envelope first;
  if (!wasimoff::protocol::decode(data, Codec::kJson, &first).empty()) return;
  const std::string json = wasimoff::protocol::encode(first, Codec::kJson);
  Envelope second;
  const std::string error = wasimoff::protocol::decode(json, Codec::kJson, &second);
  if (!error.empty())
    std::fprintf(stderr, "re-encoded JSON: %s\nerror: %s\n", json.c_str(), error.c_str());
  FUZZ_CHECK(error.empty(), "re-encoded JSON Envelope does not decode");
  if (first.has_payload() && first.payload().value() == wasimoff::protocol::kUndecodablePayload) {
    // A payload of a known type that did not decode (codec.h) cannot be printed again; only its
    // type survives the round trip.
    FUZZ_CHECK(second.payload().type_url() == first.payload().type_url(),
               "JSON round trip lost the type of an undecodable payload");
    return;
  }
  FUZZ_CHECK(canonical(first) == canonical(second), "JSON Envelope round trip changed the message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libprotobuf logs a warning for most rejected JSON inputs; that noise would bury real reports
  // (FATAL messages still abort).
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_binary(input);
  check_json(input);
  return 0;
}
