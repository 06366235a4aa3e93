// A blocking HTTP/1.1 connection for tests that care about what happens on ONE connection:
// keep-alive reuse, pipelining, responses after a malformed request, the server closing.
//
// Unlike http_request() (a fresh connection per call, transparent reconnects), nothing here
// reconnects behind the test's back: when the server closes the connection, the next read throws
// or reports the close. Every operation is bounded by the timeout given to the constructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/http/client.h"

namespace wasimoff::testing {

class HttpConnection {
 public:
  // Connects to 127.0.0.1:port (plain TCP). Throws std::runtime_error when that fails.
  explicit HttpConnection(std::uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Writes raw bytes (e.g. several pipelined requests at once, or half a request).
  void send(const std::string& bytes);

  // Reads exactly one response. `head` = the request was HEAD (no body follows whatever the
  // Content-Length says). Throws std::runtime_error on timeout, close or a malformed response.
  http::ClientResponse read_response(bool head = false);

  // send() of a well-formed HTTP/1.1 request (Host, Content-Length added) + read_response().
  http::ClientResponse request(const std::string& method, const std::string& target,
                               const http::Headers& headers = {}, const std::string& body = {});

  // True when the server closes the connection (EOF or reset) within `wait` (default: the
  // connection's timeout), with no further response bytes; false when bytes arrive (they are
  // kept for the next read) or the wait passes (the connection stays usable).
  bool closed_by_peer(std::optional<std::chrono::milliseconds> wait = std::nullopt);

  // Local port of this connection (to tell connections apart).
  std::uint16_t local_port() const;

  // Shrinks the kernel receive buffer (before reading a large body slowly).
  void set_receive_buffer(int bytes);

  // Reads up to `max` raw body bytes that follow a response header already consumed via
  // read_headers_only(); returns "" on EOF. Throws on timeout.
  std::string read_some(std::size_t max);

  // Reads only the status line and headers of a response (the body stays unread on the socket).
  http::ClientResponse read_headers_only();

  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wasimoff::testing
