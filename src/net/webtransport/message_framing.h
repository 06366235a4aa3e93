// Envelope framing on the WebTransport message stream (docs/protocol.md §7): every Envelope is
// preceded by its length as a protobuf base-128 varint (at most 10 bytes). MessageDeframer checks
// each length prefix against the configured maximum as soon as the prefix is complete, i.e.
// before any of the body is buffered, so an oversized frame costs at most its prefix.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>

namespace wasimoff::webtransport {

inline constexpr std::size_t kMaxLengthPrefix = 10;

// Appends varint(length) ‖ message.
void append_framed_message(std::string& out, std::string_view message);
std::string frame_message(std::string_view message);

class MessageDeframer {
 public:
  explicit MessageDeframer(std::uint64_t max_message_size) : max_(max_message_size) {}

  enum class Status {
    kOk,
    kBadPrefix,  // longer than 10 bytes or above 2^64 (close code 1002)
    kTooLarge,   // announced length above the maximum (close code 1009)
  };

  // Appends stream bytes and splits off every complete message. After an error the deframer
  // stays failed and ignores further input.
  Status feed(std::span<const std::uint8_t> data);

  bool has_message() const { return !messages_.empty(); }
  // Oldest complete message (call only when has_message()).
  std::string pop();
  // Bytes buffered: bodies of complete messages plus the unparsed tail.
  std::size_t buffered_bytes() const { return buffered_ + (partial_.size() - pos_); }
  // True when no partial message is pending (a FIN now is a clean end).
  bool at_boundary() const { return partial_.size() == pos_; }
  // Length announced by the prefix that produced kTooLarge.
  std::uint64_t announced_length() const { return announced_; }

 private:
  std::uint64_t max_;
  Status failed_ = Status::kOk;
  std::string partial_;  // unparsed bytes start at pos_
  std::size_t pos_ = 0;
  std::deque<std::string> messages_;
  std::size_t buffered_ = 0;  // body bytes in messages_
  std::uint64_t announced_ = 0;
};

}  // namespace wasimoff::webtransport
