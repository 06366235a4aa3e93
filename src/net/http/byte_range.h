// The `Range` request header (RFC 9110 §14.2) of GET /api/storage/{ref} (docs/http-api.md §6.2).
#pragma once

#include <cstdint>
#include <string_view>

namespace wasimoff::http {

// The outcome of a Range header against a file of `size` bytes.
struct RangeRequest {
  enum Kind { kWhole, kPartial, kUnsatisfiable } kind = kWhole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// Single ranges only: multiple ranges and malformed syntax ask for the whole file. A partial
// result always has first <= last < size.
RangeRequest parse_range(std::string_view header, std::uint64_t size);

}  // namespace wasimoff::http
