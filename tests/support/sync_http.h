// Blocking HTTP helpers for tests (each call runs its own io_context).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "net/http/client.h"

namespace wasimoff::testing {

using http::ClientResponse;
using http::Headers;

// One request on a fresh connection. Throws http::HttpClientError on transport failure.
ClientResponse http_request(const std::string& method, const std::string& url,
                            const Headers& headers = {}, const std::string& body = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
inline ClientResponse http_get(const std::string& url, const Headers& headers = {}) {
  return http_request("GET", url, headers);
}

// Sends raw bytes to 127.0.0.1:port and returns everything the server sends until it closes the
// connection or `timeout` passes (for malformed-request tests).
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Status code of the first response line in `raw` ("HTTP/1.1 400 Bad Request" → 400), 0 if none.
unsigned raw_status(const std::string& raw);

}  // namespace wasimoff::testing
