#include "net/webtransport/error_code.h"

namespace wasimoff::webtransport {

std::uint64_t to_h3_error(std::uint32_t code) {
  return kFirstH3ErrorCode + code + code / 0x1e;
}

std::optional<std::uint32_t> from_h3_error(std::uint64_t h3_code) {
  if (h3_code < kFirstH3ErrorCode || h3_code > kLastH3ErrorCode) return std::nullopt;
  const std::uint64_t s = h3_code - kFirstH3ErrorCode;
  if (s % 0x1f == 0x1e) return std::nullopt;
  return static_cast<std::uint32_t>(s - s / 0x1f);
}

}  // namespace wasimoff::webtransport
