// The wasimoff message stream of one WebTransport session (docs/protocol.md §7) and the
// protocol::Transport that the Broker (server side) or the native provider (client side) uses.
//
// MessageChannel sits between the connection side (a MessageStreamHost: the server's session or
// the client) and the Transport handed to the application:
//  * incoming stream bytes are split into Envelopes (protobuf-varint length prefix, checked
//    against max_message_size before any body byte is buffered);
//  * flow-control credit for received bytes is returned only while no complete message waits
//    for receive(), so a slow reader throttles the peer instead of growing our buffer;
//  * send() waits while the stream has too many unacknowledged bytes (bounded send buffer);
//  * close codes: 0 normal, 1002 protocol error, 1009 too big, 1011 internal (CloseCode maps
//    kNormal to 0 on the wire).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/quic/notifier.h"
#include "net/webtransport/message_framing.h"
#include "protocol/transport.h"

namespace wasimoff::webtransport {

// Implemented by the side that owns the QUIC streams.
class MessageStreamHost {
 public:
  virtual ~MessageStreamHost() = default;
  // Queues bytes on the message stream.
  virtual void write_message_bytes(std::string bytes) = 0;
  // Unacknowledged bytes on the message stream.
  virtual std::size_t message_bytes_buffered() const = 0;
  // Returns flow-control credit for `n` received bytes.
  virtual void credit_message_bytes(std::size_t n) = 0;
  // Ends the session: CLOSE_WEBTRANSPORT_SESSION(code, reason), FIN, then the QUIC connection.
  virtual void close_session(std::uint32_t code, std::string reason) = 0;
};

// Wire code of a CloseCode (kNormal → 0).
std::uint32_t wire_close_code(protocol::CloseCode code);

class MessageChannel : public std::enable_shared_from_this<MessageChannel> {
 public:
  MessageChannel(asio::any_io_executor ex, std::uint64_t max_message_size, std::string remote);

  // --- connection side -----------------------------------------------------------------------
  void attach(std::weak_ptr<MessageStreamHost> host) { host_ = std::move(host); }
  // Bytes of the message stream; `fin` = the peer finished the stream (a normal close).
  void on_bytes(std::span<const std::uint8_t> data, bool fin);
  // Send buffer drained a bit.
  void on_progress() {
    last_activity_ = std::chrono::steady_clock::now();
    notifier_.notify();
  }
  // The session or connection ended for `reason` (nothing is sent).
  void on_ended(std::string reason);
  bool ended() const { return ended_; }

  // --- Transport side ------------------------------------------------------------------------
  awaitable<void> send(const v1::Envelope& envelope);
  awaitable<std::optional<v1::Envelope>> receive();
  void close(protocol::CloseCode code, std::string reason);
  const std::string& remote() const { return remote_; }
  const std::string& end_reason() const { return end_reason_; }
  // The peer announced a message above the limit (the session was closed with 1009).
  bool oversized() const { return oversized_; }
  // Latest stream bytes received or send progress (acknowledged bytes).
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }

  static constexpr std::size_t kSendBuffer = 1 << 20;

 private:
  void fail(protocol::CloseCode code, std::string reason);
  void maybe_credit();

  std::uint64_t max_message_size_;
  std::string remote_;
  std::weak_ptr<MessageStreamHost> host_;
  MessageDeframer deframer_;
  std::size_t uncredited_ = 0;
  bool ended_ = false;
  bool oversized_ = false;
  bool peer_fin_ = false;
  std::string end_reason_;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  quic::Notifier notifier_;
};

// The Transport handed to the application. Destroying it closes the session normally.
class WebTransportTransport : public protocol::Transport {
 public:
  // `keepalive` holds whatever must live as long as the transport (the client's connection).
  explicit WebTransportTransport(std::shared_ptr<MessageChannel> channel,
                                 std::shared_ptr<void> keepalive = nullptr)
      : channel_(std::move(channel)), keepalive_(std::move(keepalive)) {}
  ~WebTransportTransport() override;

  awaitable<void> send(const v1::Envelope& envelope) override { return channel_->send(envelope); }
  awaitable<std::optional<v1::Envelope>> receive() override { return channel_->receive(); }
  void close(protocol::CloseCode code, std::string reason) override {
    channel_->close(code, std::move(reason));
  }
  std::string remote_address() const override { return channel_->remote(); }
  std::string_view kind() const override { return "webtransport"; }
  std::string end_reason() const override { return channel_->end_reason(); }
  bool ended_by_oversized_message() const override { return channel_->oversized(); }
  std::chrono::steady_clock::time_point last_activity() const override {
    return channel_->last_activity();
  }

 private:
  std::shared_ptr<MessageChannel> channel_;
  std::shared_ptr<void> keepalive_;
};

}  // namespace wasimoff::webtransport
