#include "net/webtransport/message_channel.h"

#include <boost/system/system_error.hpp>

#include "common/logging.h"
#include "protocol/codec.h"

namespace wasimoff::webtransport {

std::uint32_t wire_close_code(protocol::CloseCode code) {
  return code == protocol::CloseCode::kNormal ? 0u : static_cast<std::uint32_t>(code);
}

MessageChannel::MessageChannel(asio::any_io_executor ex, std::uint64_t max_message_size,
                               std::string remote)
    : max_message_size_(max_message_size),
      remote_(std::move(remote)),
      deframer_(max_message_size),
      notifier_(std::move(ex)) {}

void MessageChannel::on_bytes(std::span<const std::uint8_t> data, bool fin) {
  if (ended_) {
    if (auto host = host_.lock()) host->credit_message_bytes(data.size());
    return;
  }
  uncredited_ += data.size();
  last_activity_ = std::chrono::steady_clock::now();
  switch (deframer_.feed(data)) {
    case MessageDeframer::Status::kOk:
      break;
    case MessageDeframer::Status::kBadPrefix:
      return fail(protocol::CloseCode::kProtocolError, "bad message length prefix");
    case MessageDeframer::Status::kTooLarge:
      oversized_ = true;
      return fail(protocol::CloseCode::kMessageTooBig,
                  "message of " + std::to_string(deframer_.announced_length()) +
                      " bytes exceeds the limit of " + std::to_string(max_message_size_));
  }
  if (fin) {
    peer_fin_ = true;
    if (!deframer_.at_boundary())
      return fail(protocol::CloseCode::kProtocolError, "message stream ended inside a message");
  }
  maybe_credit();
  notifier_.notify();
}

void MessageChannel::maybe_credit() {
  // Credit while no complete message waits: the buffer stays ≤ one message + the stream window.
  if (deframer_.has_message() || uncredited_ == 0) return;
  if (auto host = host_.lock()) host->credit_message_bytes(uncredited_);
  uncredited_ = 0;
}

void MessageChannel::on_ended(std::string reason) {
  if (ended_) return;
  ended_ = true;
  end_reason_ = std::move(reason);
  notifier_.notify();
}

void MessageChannel::fail(protocol::CloseCode code, std::string reason) {
  spdlog::warn("[webtransport] {}: closing session: {}", remote_, reason);
  close(code, std::move(reason));
}

void MessageChannel::close(protocol::CloseCode code, std::string reason) {
  if (ended_) return;
  ended_ = true;
  end_reason_ = "closed: " + std::to_string(wire_close_code(code)) + " " + reason;
  if (auto host = host_.lock()) host->close_session(wire_close_code(code), std::move(reason));
  notifier_.notify();
}

awaitable<void> MessageChannel::send(const v1::Envelope& envelope) {
  auto self = shared_from_this();
  auto fail_send = [&](boost::system::errc::errc_t e, const std::string& what) {
    throw boost::system::system_error(boost::system::errc::make_error_code(e), what);
  };
  if (ended_)
    fail_send(boost::system::errc::not_connected, "WebTransport session ended: " + end_reason_);
  const std::string bytes = protocol::encode(envelope, protocol::Codec::kBinary);
  if (bytes.size() > max_message_size_)
    fail_send(boost::system::errc::message_size, "message of " + std::to_string(bytes.size()) +
                                                     " bytes exceeds the limit of " +
                                                     std::to_string(max_message_size_));
  for (;;) {
    auto host = host_.lock();
    if (ended_ || !host)
      fail_send(boost::system::errc::not_connected, "WebTransport session ended: " + end_reason_);
    if (host->message_bytes_buffered() < kSendBuffer) {
      host->write_message_bytes(frame_message(bytes));
      co_return;
    }
    host.reset();
    co_await notifier_.wait(std::chrono::seconds(5));
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

awaitable<std::optional<v1::Envelope>> MessageChannel::receive() {
  auto self = shared_from_this();
  for (;;) {
    if (deframer_.has_message()) {
      std::string bytes = deframer_.pop();
      maybe_credit();
      v1::Envelope env;
      const auto err = protocol::decode(bytes, protocol::Codec::kBinary, &env);
      if (!err.empty()) {
        fail(protocol::CloseCode::kProtocolError, "undecodable Envelope: " + err);
        co_return std::nullopt;
      }
      co_return env;
    }
    if (ended_) co_return std::nullopt;
    if (peer_fin_) {
      // FIN on the message stream: a normal close by the peer.
      on_ended("peer finished the message stream");
      if (auto host = host_.lock()) host->close_session(0, "bye!");
      co_return std::nullopt;
    }
    co_await notifier_.wait(std::chrono::seconds(30));
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

WebTransportTransport::~WebTransportTransport() {
  channel_->close(protocol::CloseCode::kNormal, "bye!");
}

}  // namespace wasimoff::webtransport
