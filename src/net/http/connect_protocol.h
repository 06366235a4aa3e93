// The Connect protocol's unary request/response rules (docs/http-api.md §4.1–4.2), independent of
// any service: codec selection by Content-Type, header checks, gzip request bodies, timeouts,
// and the error body / HTTP status mapping.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "net/http/message.h"
#include "protocol/codec.h"

namespace wasimoff::http::connect {

// `{"code":…,"message":…}` with the status wasimoff::http_status(code) maps the code to;
// resource_exhausted (429) adds `Retry-After: 1`, unauthenticated `WWW-Authenticate: Bearer`.
// `error` must not be ok.
Response error_response(const Status& error);

// The codec of a request `Content-Type` (charset parameter allowed), or nullopt when it is
// neither application/json nor application/proto.
std::optional<protocol::Codec> codec_for(std::string_view content_type);
std::string_view content_type_for(protocol::Codec codec);

// Checks Connect-Protocol-Version, Content-Encoding (gzip/identity) and Connect-Timeout-Ms;
// decompresses a gzip body in place (bounded by `max_body`). On success returns the timeout (if
// any); otherwise the error to send.
struct Preamble {
  protocol::Codec codec = protocol::Codec::kJson;
  std::optional<std::chrono::milliseconds> timeout;
};
std::variant<Preamble, Status, Response> check_request(Request& request, std::uint64_t max_body);

// Inflates a gzip stream; nullopt when malformed or larger than `max_size`.
std::optional<std::string> gunzip(std::string_view data, std::uint64_t max_size);

}  // namespace wasimoff::http::connect
