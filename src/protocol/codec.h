// Binary and canonical-JSON codecs for Envelopes and any other wasimoff message
// (docs/protocol.md §4). Used by the WebSocket/WebTransport transports and by the Connect API.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::protocol {

enum class Codec { kBinary, kJson };

// Serialises `msg`. Binary: standard protobuf encoding, fields in number order. JSON: canonical
// proto3 JSON, present fields printed even when they hold defaults, 64-bit ints as strings,
// enums by name, Any as {"@type":"wasimoff/…", …}.
std::string encode(const google::protobuf::Message& msg, Codec codec);
std::string encode_json(const google::protobuf::Message& msg);

// Parses `data` into `out` (which is cleared first). JSON accepts JSON or proto field names,
// 64-bit ints as strings or numbers, enum names or numbers (unknown names decode as unset), any
// Any type-URL prefix, and ignores unknown fields. Returns an empty string on success, otherwise
// a short human-readable reason.
//
// JSON is checked strictly for shape first (check_json_shape): a list where a single value
// belongs, a single value where a list belongs, nested lists, and objects or lists where a
// scalar belongs are errors naming the field, e.g. `invalid JSON: params.args: expected a list,
// got a string` (libprotobuf's own parser would accept some of them).
//
// Envelopes in JSON (docs/protocol.md §3.5): an Any payload whose `@type` this build does not know
// decodes as that type URL with an empty value (so receivers see an unknown type: a Request gets
// `not implemented`, an Event is ignored). A payload of a known type that does not decode keeps
// its type URL, gets kUndecodablePayload as value and, on a Request or Event (where `error` means
// nothing on the wire), the reason in `error`. Only a malformed Envelope outside its payload is
// an error.
std::string decode(std::string_view data, Codec codec, google::protobuf::Message* out);
std::string decode_json(std::string_view json, google::protobuf::Message* out);

// The value of a JSON-decoded Any payload that did not decode: not a valid encoding of any
// message (a truncated varint), so unpacking it fails as "bad payload".
inline constexpr std::string_view kUndecodablePayload = "\xff";

// "" when `json` has the shape of message `type`; otherwise "<field path>: <problem>", e.g.
// "params.args[1]: a list inside a list". Rules: a message is an object (null = absent); a
// repeated field is a list (or null) of non-null elements that are not lists; a map is an object;
// strings and bytes are strings, bools are true/false, numbers are numbers or strings, enums are
// strings or numbers; google.protobuf.Timestamp/Duration/FieldMask are strings, Struct is an
// object, ListValue a list, Value anything, wrappers a scalar; an Any is an object whose other
// keys are checked against its `@type` when this build knows it (and `descend_into_any`).
// Unknown keys are ignored (they are ignored when decoding too).
std::string check_json_shape(std::string_view json, const google::protobuf::Descriptor* type,
                             bool descend_into_any = true);

}  // namespace wasimoff::protocol
