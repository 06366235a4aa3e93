#include "net/h3/varint.h"

#include <stdexcept>

namespace wasimoff::h3 {

std::size_t varint_size(std::uint64_t value) {
  if (value < (1u << 6)) return 1;
  if (value < (1u << 14)) return 2;
  if (value < (std::uint64_t{1} << 30)) return 4;
  return 8;
}

void append_varint(std::string& out, std::uint64_t value) {
  if (value > kMaxVarint) throw std::invalid_argument("QUIC varint value exceeds 2^62-1");
  const std::size_t n = varint_size(value);
  const std::uint8_t prefix = n == 1 ? 0x00 : n == 2 ? 0x40 : n == 4 ? 0x80 : 0xc0;
  for (std::size_t i = 0; i < n; ++i) {
    auto byte = static_cast<std::uint8_t>(value >> (8 * (n - 1 - i)));
    if (i == 0) byte = static_cast<std::uint8_t>(byte | prefix);
    out.push_back(static_cast<char>(byte));
  }
}

std::optional<Varint> decode_varint(std::span<const std::uint8_t> data) {
  if (data.empty()) return std::nullopt;
  const std::size_t n = std::size_t{1} << (data[0] >> 6);
  if (data.size() < n) return std::nullopt;
  std::uint64_t value = data[0] & 0x3f;
  for (std::size_t i = 1; i < n; ++i) value = (value << 8) | data[i];
  return Varint{value, n};
}

}  // namespace wasimoff::h3
