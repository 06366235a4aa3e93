// Binary and canonical-JSON codecs for Envelopes and any other wasimoff message
// (protocol.md §4). Used by the WebSocket/WebTransport transports and by the Connect API.
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
std::string decode(std::string_view data, Codec codec, google::protobuf::Message* out);
std::string decode_json(std::string_view json, google::protobuf::Message* out);

}  // namespace wasimoff::protocol
