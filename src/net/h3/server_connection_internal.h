// State shared by the files of h3::ServerConnection (server_connection.cc and
// server_connection_requests.cc): what one HTTP/3 request carries from its HEADERS to the end of
// its response. Not part of the HTTP/3 API.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "net/h3/server_connection.h"

namespace wasimoff::h3 {

struct ServerConnection::RequestState {
  explicit RequestState(asio::any_io_executor ex) : ctx(std::move(ex)) {}
  http::Request request;
  http::RequestContext ctx;
  std::optional<std::uint64_t> content_length;
  bool gone = false;        // the peer no longer wants the response (reset, STOP_SENDING, closed)
  bool finished = false;    // counted out of active_requests_
  bool dispatched = false;  // serve() runs and will count it out
  std::chrono::steady_clock::time_point received;
};

}  // namespace wasimoff::h3
