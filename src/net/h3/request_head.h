// Translation between HTTP/3 field sections and the transport-independent http::Request /
// http::Response (net/http/message.h), so HTTP/3 requests reach the same Router as TCP ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/h3/qpack.h"
#include "net/http/message.h"

namespace wasimoff::h3 {

struct RequestHead {
  http::Request request;  // method, target, path, query, authority, scheme, headers; no body
  std::string protocol;   // :protocol of an extended CONNECT (RFC 9220), "" otherwise
  std::optional<std::uint64_t> content_length;
};

// Validates the request pseudo-headers (RFC 9114 §4.3.1): :method always; :scheme and :path
// unless CONNECT without :protocol; no unknown pseudo-headers, none after regular fields, no
// upper-case names, no connection-specific fields. Regular fields become http::Headers. nullopt
// with `error` set on a malformed request (the caller answers H3_MESSAGE_ERROR / 400).
std::optional<RequestHead> parse_request_head(const HeaderList& fields, std::string* error);

// The request's field section (client side): pseudo-headers first, then the headers with
// lower-cased names.
HeaderList request_fields(const http::Request& request, const std::string& protocol = "");

// Response field section: `:status`, then the response headers with lower-cased names,
// dropping connection-specific ones (Connection, Keep-Alive, Transfer-Encoding, Upgrade, ...),
// and `content-length` = `content_length` unless the status forbids a body.
HeaderList response_fields(const http::Response& response,
                           std::optional<std::uint64_t> content_length);

// Parses a response section (client side): the :status (nullopt if missing/invalid) and headers.
std::optional<unsigned> parse_response_status(const HeaderList& fields, http::Headers* headers);

}  // namespace wasimoff::h3
