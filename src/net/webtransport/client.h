// WebTransport client for the native provider (`--transport webtransport`): QUIC + HTTP/3 to the
// URL's host, server certificate checked by `certhash` (SHA-256 of the DER certificate) or
// against a CA file / the system trust store, extended CONNECT to the URL's path and query,
// then the single bidirectional message stream of docs/protocol.md §7, returned as a Transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/async.h"
#include "contract/contract.h"
#include "protocol/transport.h"

namespace wasimoff::webtransport {

struct ClientOptions {
  std::string url;         // https://host:port/path?query (query carries id= and token=)
  std::string certhash;    // hex SHA-256 of the server's DER certificate ("" = verify with CA)
  std::string ca_file;     // PEM bundle; "" = system trust store (used when certhash is empty)
  std::string user_agent;  // sent as `user-agent` on the CONNECT when set
  std::chrono::milliseconds timeout{10000};  // resolve + handshake + CONNECT answer
  std::uint64_t max_message_size = contract::limits::kMaxMessageSizeDefault;
  std::string origin;  // sent as `origin` when set
};

struct ParsedUrl {
  std::string host;  // without brackets
  std::uint16_t port = 443;
  std::string target;  // path?query, "/" at least
  std::string authority;
};
// Parses an https:// URL; throws std::invalid_argument with a message naming the URL.
ParsedUrl parse_https_url(const std::string& url);

// Throws std::runtime_error with a user-actionable message (timeout, certificate hash mismatch,
// CONNECT refused with status N, server without WebTransport support, ...).
awaitable<std::unique_ptr<protocol::Transport>> connect(asio::any_io_executor ex,
                                                        ClientOptions options);

}  // namespace wasimoff::webtransport
