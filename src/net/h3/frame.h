// HTTP/3 frames (RFC 9114 §7): type varint, length varint, payload. FrameReader parses a stream
// incrementally: DATA payloads pass through in chunks (never buffered), a bounded set of control
// frames is buffered whole up to a size limit, and every other (unknown, reserved, GREASE) frame
// type is skipped as the RFC requires.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace wasimoff::h3 {

namespace frame {
inline constexpr std::uint64_t kData = 0x00;
inline constexpr std::uint64_t kHeaders = 0x01;
inline constexpr std::uint64_t kCancelPush = 0x03;
inline constexpr std::uint64_t kSettings = 0x04;
inline constexpr std::uint64_t kPushPromise = 0x05;
inline constexpr std::uint64_t kGoaway = 0x07;
inline constexpr std::uint64_t kMaxPushId = 0x0d;
// Frame types of HTTP/2 that are forbidden in HTTP/3 (receiving one is H3_FRAME_UNEXPECTED).
bool is_http2_only(std::uint64_t type);
}  // namespace frame

// Stream types of unidirectional streams (RFC 9114 §6.2, RFC 9204 §4.2).
namespace stream_type {
inline constexpr std::uint64_t kControl = 0x00;
inline constexpr std::uint64_t kPush = 0x01;
inline constexpr std::uint64_t kQpackEncoder = 0x02;
inline constexpr std::uint64_t kQpackDecoder = 0x03;
}  // namespace stream_type

// Appends a frame header (type, payload length).
void append_frame_header(std::string& out, std::uint64_t type, std::uint64_t payload_length);
// A whole frame.
std::string encode_frame(std::uint64_t type, std::string_view payload);
// GOAWAY carrying `id` (for a server: the first client bidi stream id it will not process).
std::string encode_goaway(std::uint64_t id);

class FrameReader {
 public:
  // `max_buffered_payload` bounds the payload of every frame the reader buffers (all types except
  // DATA and skipped ones).
  explicit FrameReader(std::size_t max_buffered_payload) : max_payload_(max_buffered_payload) {}

  struct Callbacks {
    // A buffered frame (HEADERS, SETTINGS, GOAWAY, CANCEL_PUSH, MAX_PUSH_ID, PUSH_PROMISE and
    // HTTP/2-only types). Return false to stop parsing (the rest of the input is left unread).
    std::function<bool(std::uint64_t type, std::string_view payload)> on_frame;
    // A chunk of DATA payload (possibly empty-free: never called with an empty span).
    std::function<bool(std::span<const std::uint8_t> chunk)> on_data;
  };

  enum class Result {
    kOk,             // all input consumed
    kStopped,        // a callback returned false
    kFrameTooLarge,  // a buffered frame announced a payload above the limit
  };

  Result feed(std::span<const std::uint8_t> input, const Callbacks& callbacks);

  // True when the stream ended cleanly between frames (required at FIN, RFC 9114 §7.1).
  bool at_frame_boundary() const { return state_ == State::kHeader && header_.empty(); }
  // Payload length announced by the frame that made feed() return kFrameTooLarge.
  std::uint64_t oversized_length() const { return length_; }

 private:
  enum class State { kHeader, kBuffer, kData, kSkip };
  bool buffered_type(std::uint64_t type) const;

  std::size_t max_payload_;
  State state_ = State::kHeader;
  std::string header_;  // partial type+length bytes (at most 16)
  std::uint64_t type_ = 0;
  std::uint64_t length_ = 0;     // payload length of the current frame
  std::uint64_t remaining_ = 0;  // payload bytes still to come
  std::string payload_;
};

}  // namespace wasimoff::h3
