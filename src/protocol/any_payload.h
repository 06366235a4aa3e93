// Packing of inner messages into google.protobuf.Any (docs/protocol.md §3.4).
//
// Output type URLs are "wasimoff/<fully-qualified name>". On input only the part after the last
// '/' counts (any prefix, or none at all, is accepted).
#pragma once

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>

#include "contract/contract.h"

namespace wasimoff::protocol {

inline constexpr std::string_view kTypeUrlPrefix = contract::payload::kTypeUrlPrefix;

// Packs `msg` with the wasimoff/ prefix.
void pack_any(const google::protobuf::Message& msg, google::protobuf::Any* any);
google::protobuf::Any make_any(const google::protobuf::Message& msg);

// The fully-qualified message name of an Any: the text after the last '/' of its type URL.
std::string_view any_type_name(const google::protobuf::Any& any);

// True when `any` holds a message of type T (by name suffix).
template <typename T>
bool any_is(const google::protobuf::Any& any) {
  return any_type_name(any) == T::descriptor()->full_name();
}

// Outcome of unpacking: distinguishes "wrong/unknown type" from "undecodable bytes".
enum class UnpackStatus { kOk, kWrongType, kBadPayload };

// Parses `any` into `out` if the type names match.
UnpackStatus unpack_any(const google::protobuf::Any& any, google::protobuf::Message* out);

// Creates a message of the Any's type from the generated pool; nullptr when the type is unknown.
// `bad_payload` is set when the type is known but the bytes do not decode.
std::unique_ptr<google::protobuf::Message> unpack_any_dynamic(const google::protobuf::Any& any,
                                                              bool* bad_payload = nullptr);

}  // namespace wasimoff::protocol
