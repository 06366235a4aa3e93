// WebTransport application error codes on RESET_STREAM / STOP_SENDING are carried in a reserved
// range of the HTTP/3 error space (docs/webtransport.md §3):
//   h3 = 0x52e4a40fa8db + n + ⌊n / 0x1e⌋, skipping the GREASE code points 0x1f·k + 0x21 + base.
#pragma once

#include <cstdint>
#include <optional>

namespace wasimoff::webtransport {

inline constexpr std::uint64_t kFirstH3ErrorCode = 0x52e4a40fa8db;
// Largest HTTP/3 code produced for n = 2^32 - 1.
inline constexpr std::uint64_t kLastH3ErrorCode =
    kFirstH3ErrorCode + 0xffffffffull + 0xffffffffull / 0x1e;

std::uint64_t to_h3_error(std::uint32_t code);
// nullopt when `h3_code` is outside the WebTransport range or a GREASE code point.
std::optional<std::uint32_t> from_h3_error(std::uint64_t h3_code);

}  // namespace wasimoff::webtransport
