// HTTP/3 SETTINGS (RFC 9114 §7.2.4): a list of (identifier, value) QUIC-varint pairs. Which
// settings a server sends for WebTransport is decided by the WebTransport layer
// (webtransport/draft.h); this file only knows identifiers and the wire format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wasimoff::h3 {

namespace setting {
inline constexpr std::uint64_t kQpackMaxTableCapacity = 0x01;
inline constexpr std::uint64_t kMaxFieldSectionSize = 0x06;
inline constexpr std::uint64_t kQpackBlockedStreams = 0x07;
inline constexpr std::uint64_t kEnableConnectProtocol = 0x08;  // RFC 8441/9220
inline constexpr std::uint64_t kH3Datagram = 0x33;             // RFC 9297
inline constexpr std::uint64_t kH3DatagramDraft04 = 0xffd277;  // pre-RFC HTTP datagrams
}  // namespace setting

struct Settings {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> entries;

  std::optional<std::uint64_t> get(std::uint64_t id) const;
  void set(std::uint64_t id, std::uint64_t value);
};

// SETTINGS frame payload (without the frame header).
std::string encode_settings_payload(const Settings& settings);

// Parses a SETTINGS payload. Fails (nullopt, `error` set) on a truncated pair, a repeated
// identifier, or an HTTP/2-only identifier (0x02–0x05), all H3_SETTINGS_ERROR. Unknown and GREASE
// identifiers are kept (the caller ignores what it does not know).
std::optional<Settings> decode_settings_payload(std::string_view payload, std::string* error);

}  // namespace wasimoff::h3
