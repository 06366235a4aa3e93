// WebSocket Transport (docs/protocol.md §6): one Envelope per WebSocket message; binary messages
// with the protobuf codec or text messages with the JSON codec, chosen by the negotiated
// subprotocol.
//
// Close codes: 1000 normal, 1002 protocol error (no subprotocol, undecodable Envelope), 1003
// wrong frame kind for the codec, 1009 message larger than the maximum, 1011 internal error.
// WebSocket pings are answered automatically; the transport also sends its own keep-alive pings
// and gives up on a peer that is silent for `idle_timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "contract/contract.h"
#include "net/http/client.h"
#include "net/http/server.h"
#include "protocol/codec.h"
#include "protocol/transport.h"

namespace wasimoff::websocket {

inline constexpr std::string_view kProtobufSubprotocol = contract::subprotocols::kProtobuf;
inline constexpr std::string_view kJsonSubprotocol = contract::subprotocols::kJson;

struct TransportOptions {
  std::uint64_t max_message_size = contract::limits::kMaxMessageSizeDefault;
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds close_timeout = std::chrono::seconds(5);  // closing handshake bound
};

// Picks our preferred subprotocol from a Sec-WebSocket-Protocol header value (protobuf first,
// then JSON); empty when neither was offered.
std::string select_subprotocol(std::string_view offered);

// Server side: completes the handshake on a stream taken from the HTTP server. If the client did
// not offer a supported subprotocol the handshake still completes and the connection is closed
// at once with 1002 (docs/protocol.md §6); then nullptr is returned. Throws on handshake failure.
awaitable<std::unique_ptr<protocol::Transport>> accept(http::UpgradeContext& upgrade,
                                                       TransportOptions options);

struct ConnectOptions {
  TransportOptions transport;
  std::vector<std::string> subprotocols = {std::string(kProtobufSubprotocol)};
  http::Headers headers;  // e.g. Authorization, User-Agent, Origin
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  std::string ca_file;    // wss:// verification (system store when empty)
  bool insecure = false;  // skip TLS verification (tests only)
};

// Client side: connects to ws:// or wss:// `url`. Throws std::runtime_error with the reason
// (connection refused, HTTP status of a refused upgrade, no subprotocol negotiated).
awaitable<std::unique_ptr<protocol::Transport>> connect(asio::any_io_executor ex, std::string url,
                                                        ConnectOptions options);

}  // namespace wasimoff::websocket
