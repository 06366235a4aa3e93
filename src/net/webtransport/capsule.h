// Capsules (RFC 9297 §3.2) on the WebTransport CONNECT stream: type varint, length varint,
// value, carried inside HTTP/3 DATA frames and possibly split across them. We understand
// CLOSE_WEBTRANSPORT_SESSION and DRAIN_WEBTRANSPORT_SESSION; every other type (including
// Chromium's GREASE capsules) is skipped without buffering.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wasimoff::webtransport {

inline constexpr std::size_t kMaxCloseReason = 1024;

struct Capsule {
  std::uint64_t type = 0;
  std::string value;
};

std::string encode_capsule(std::uint64_t type, std::string_view value);
// CLOSE_WEBTRANSPORT_SESSION: 32-bit big-endian code, then the reason truncated to 1024 bytes
// at a UTF-8 character boundary.
std::string encode_close_capsule(std::uint32_t code, std::string_view reason);
std::string encode_drain_capsule();

struct CloseInfo {
  std::uint32_t code = 0;
  std::string reason;
};
// Parses a CLOSE capsule's value; nullopt if shorter than 4 bytes or the reason exceeds 1024.
std::optional<CloseInfo> parse_close_value(std::string_view value);

class CapsuleReader {
 public:
  // `max_capsule`: largest value of a known capsule type we buffer (64 KiB in the server).
  explicit CapsuleReader(std::size_t max_capsule) : max_(max_capsule) {}

  enum class Result { kOk, kTooLarge };
  // Consumes bytes; calls `on_capsule` for every complete known capsule.
  Result feed(std::span<const std::uint8_t> data, const std::function<void(Capsule)>& on_capsule);
  // True between capsules (a FIN inside a capsule is a protocol error).
  bool at_boundary() const { return state_ == State::kHeader && header_.empty(); }

 private:
  enum class State { kHeader, kValue, kSkip };
  std::size_t max_;
  State state_ = State::kHeader;
  std::string header_;
  std::uint64_t type_ = 0;
  std::uint64_t remaining_ = 0;
  std::string value_;
};

}  // namespace wasimoff::webtransport
