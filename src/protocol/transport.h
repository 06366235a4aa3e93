// Transport: the seam between the wire (WebSocket, WebTransport, an in-memory pair in tests) and
// the Messenger. It moves whole Envelopes; framing and codec are the transport's business.
//
// Contract (all transports):
//  * All member functions are called on the transport's executor (the process's event loop).
//  * At most one send() and one receive() are outstanding at any time (the Messenger runs one
//    writer and one reader coroutine).
//  * receive() returns the next Envelope in arrival order, or nullopt once the transport has
//    ended (closed by either side, protocol error, connection loss). A protocol error (bytes that
//    do not decode, wrong frame kind, message too large) closes the transport with the matching
//    CloseCode before receive() returns nullopt.
//  * send() throws boost::system::system_error when the transport has ended or the write fails.
//  * close() is idempotent and never blocks; it starts an orderly close with code and reason and
//    makes a pending receive() return nullopt.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/async.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::protocol {

// Close codes shared by WebSocket and WebTransport (docs/protocol.md §6, §7). WebTransport uses 0
// for a normal close; transports map kNormal accordingly.
enum class CloseCode : std::uint16_t {
  kNormal = 1000,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kMessageTooBig = 1009,
  kInternalError = 1011,
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual awaitable<void> send(const v1::Envelope& envelope) = 0;
  virtual awaitable<std::optional<v1::Envelope>> receive() = 0;
  virtual void close(CloseCode code, std::string reason) = 0;

  // Peer address "ip:port" for logs and Task.Metadata.requester.
  virtual std::string remote_address() const = 0;
  // "websocket", "webtransport" or "memory" (logs, /debug/state, the web page's display).
  virtual std::string_view kind() const = 0;
  // Human-readable reason the transport ended ("" while open), e.g. "peer closed: 1000 bye!".
  virtual std::string end_reason() const = 0;
  // True when the transport ended because the peer sent a message larger than the limit
  // (closed with 1009). The calls that were outstanding then may have been answered by it.
  virtual bool ended_by_oversized_message() const { return false; }
  // Latest sign of life below the Envelope level: bytes of a message still being received,
  // control frames (WebSocket pong), or the peer reading what we send (a chunk of a long write
  // completed, QUIC acknowledgements). Liveness checks count it like a received Envelope, so a
  // peer busy with one large message is not taken for hung. Default: no such information.
  virtual std::chrono::steady_clock::time_point last_activity() const { return {}; }
};

}  // namespace wasimoff::protocol
