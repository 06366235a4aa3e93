// QUIC variable-length integers (RFC 9000 §16), used by every HTTP/3 frame, stream header,
// WebTransport stream signal and capsule. The two top bits of the first byte give the length
// (1, 2, 4 or 8 bytes), the rest is the big-endian value. Not to be confused with the protobuf
// varint that frames wasimoff Envelopes inside the message stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace wasimoff::h3 {

inline constexpr std::uint64_t kMaxVarint = (std::uint64_t{1} << 62) - 1;

// Number of bytes the shortest encoding of `value` takes (1, 2, 4 or 8). Requires value ≤
// kMaxVarint.
std::size_t varint_size(std::uint64_t value);

// Appends the shortest encoding of `value`. Throws std::invalid_argument above kMaxVarint.
void append_varint(std::string& out, std::uint64_t value);

struct Varint {
  std::uint64_t value = 0;
  std::size_t length = 0;  // bytes consumed
};

// Decodes the varint at the start of `data`; nullopt when `data` is shorter than the encoding
// announced by its first byte (more bytes needed). Any byte sequence long enough is valid.
std::optional<Varint> decode_varint(std::span<const std::uint8_t> data);

}  // namespace wasimoff::h3
