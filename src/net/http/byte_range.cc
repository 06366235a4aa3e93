#include "net/http/byte_range.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "common/strings.h"

namespace wasimoff::http {

namespace {

// Decimal digits only; values beyond 2^64-1 saturate (a huge last-byte-pos means "to the end").
std::optional<std::uint64_t> parse_position(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  header = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (!istarts_with(header, kUnit)) return {};
  auto spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  auto first_text = trim(spec.substr(0, dash));
  auto last_text = trim(spec.substr(dash + 1));
  if (first_text.empty()) {  // suffix range: the last n bytes
    auto n = parse_position(last_text);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeRequest::kUnsatisfiable};
    return {RangeRequest::kPartial, size - std::min(*n, size), size - 1};
  }
  auto first = parse_position(first_text);
  if (!first) return {};
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!last_text.empty()) {
    auto parsed = parse_position(last_text);
    if (!parsed || *parsed < *first) return {};
    last = *parsed;
  }
  if (*first >= size) return {RangeRequest::kUnsatisfiable};
  return {RangeRequest::kPartial, *first, std::min(last, size - 1)};
}

}  // namespace wasimoff::http
