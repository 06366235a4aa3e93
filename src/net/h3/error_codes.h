// HTTP/3 application error codes (RFC 9114 §8.1) used on RESET_STREAM, STOP_SENDING and
// CONNECTION_CLOSE.
#pragma once

#include <cstdint>

namespace wasimoff::h3::error {

inline constexpr std::uint64_t kNoError = 0x100;
inline constexpr std::uint64_t kGeneralProtocolError = 0x101;
inline constexpr std::uint64_t kInternalError = 0x102;
inline constexpr std::uint64_t kStreamCreationError = 0x103;
inline constexpr std::uint64_t kClosedCriticalStream = 0x104;
inline constexpr std::uint64_t kFrameUnexpected = 0x105;
inline constexpr std::uint64_t kFrameError = 0x106;
inline constexpr std::uint64_t kExcessiveLoad = 0x107;
inline constexpr std::uint64_t kIdError = 0x108;
inline constexpr std::uint64_t kSettingsError = 0x109;
inline constexpr std::uint64_t kMissingSettings = 0x10a;
inline constexpr std::uint64_t kRequestRejected = 0x10b;
inline constexpr std::uint64_t kRequestCancelled = 0x10c;
inline constexpr std::uint64_t kRequestIncomplete = 0x10d;
inline constexpr std::uint64_t kMessageError = 0x10e;
inline constexpr std::uint64_t kConnectError = 0x10f;
inline constexpr std::uint64_t kVersionFallback = 0x110;
inline constexpr std::uint64_t kQpackDecompressionFailed = 0x200;
inline constexpr std::uint64_t kQpackEncoderStreamError = 0x201;
inline constexpr std::uint64_t kQpackDecoderStreamError = 0x202;

}  // namespace wasimoff::h3::error
