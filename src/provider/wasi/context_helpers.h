// Small helpers shared by the files that implement wasi::Context (context*.cc): little-endian
// stores into guest memory, host clocks and path components. Internal to wasi/; not an API.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "provider/wasi/abi.h"

namespace wasimoff::wasi::detail {

inline constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

inline std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The host clock of a WASI clock id; nullopt for an unknown id.
inline std::optional<clockid_t> host_clock(std::uint32_t id) {
  switch (id) {
    case clockid::kRealtime:
      return CLOCK_REALTIME;
    case clockid::kMonotonic:
      return CLOCK_MONOTONIC;
    case clockid::kProcessCputime:
      return CLOCK_PROCESS_CPUTIME_ID;
    case clockid::kThreadCputime:
      return CLOCK_THREAD_CPUTIME_ID;
  }
  return std::nullopt;
}

// The last path component ignoring trailing slashes ("a/b/.." -> "..").
inline std::string_view last_component(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

inline void put_u64(std::uint8_t* p, std::uint64_t v) {
  std::memcpy(p, &v, 8);
}
inline void put_u32(std::uint8_t* p, std::uint32_t v) {
  std::memcpy(p, &v, 4);
}
inline void put_u16(std::uint8_t* p, std::uint16_t v) {
  std::memcpy(p, &v, 2);
}

}  // namespace wasimoff::wasi::detail
