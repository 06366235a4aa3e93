// fuzz_range: the `Range` request header of GET /api/storage/{ref} (net/http/byte_range.h).
//
// Input: bytes 0-1 pick the file size (little endian, so 0 to 65535; 0xffff means 2^64-1), the
// rest is the header value. Checks, for every input, against the RFC 9110 §14.1.2 grammar of a
// single byte-range-spec (optional whitespace around the spec and the dash tolerated, as parsed):
//  * a partial result is inside the file: first <= last < size;
//  * it is unsatisfiable only for a syntactically valid single range that starts at or past the
//    end of the file, or a suffix range of length 0, or any suffix range of an empty file;
//  * a header that does not start with "bytes=" (any case) or contains a ',' asks for the whole
//    file, and so does every input without a '-' after the unit;
//  * a plain "bytes=A-B" with small decimal A <= B < size gives exactly [A, B].
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "fuzz_check.h"
#include "net/http/byte_range.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using wasimoff::http::RangeRequest;
  if (size < 2) return 0;
  std::uint64_t file_size = data[0] | (std::uint64_t{data[1]} << 8);
  if (file_size == 0xffff) file_size = std::numeric_limits<std::uint64_t>::max();
  const std::string_view header(reinterpret_cast<const char*>(data) + 2, size - 2);

  const RangeRequest r = wasimoff::http::parse_range(header, file_size);
  if (r.kind == RangeRequest::kPartial) {
    FUZZ_CHECK(r.first <= r.last, "a partial range with first > last");
    FUZZ_CHECK(r.last < file_size, "a partial range past the end of the file");
  }
  const auto trimmed = wasimoff::trim(header);
  const bool has_unit = wasimoff::istarts_with(trimmed, "bytes=");
  const auto spec = has_unit ? trimmed.substr(6) : std::string_view();
  if (!has_unit || spec.find(',') != std::string_view::npos ||
      spec.find('-') == std::string_view::npos)
    FUZZ_CHECK(r.kind == RangeRequest::kWhole, "a range from a header that names none");
  if (r.kind == RangeRequest::kUnsatisfiable && file_size > 0) {
    // Either a suffix range of length 0, or a start at or past the end.
    const auto s = wasimoff::trim(spec);
    FUZZ_CHECK(!s.empty(), "unsatisfiable without a spec");
    const bool suffix = s.front() == '-';
    if (!suffix) {
      std::uint64_t first = 0;  // saturating, like the parser
      constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
      for (char c : wasimoff::trim(s.substr(0, s.find('-')))) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        first = first > (kMax - digit) / 10 ? kMax : first * 10 + digit;
      }
      FUZZ_CHECK(first >= file_size, "unsatisfiable although the start is inside the file");
    }
  }

  // A well-formed small range must come back exactly.
  const std::uint64_t a = header.size() % 97, b = a + header.size() % 13;
  if (b < file_size) {
    const std::string plain = "bytes=" + std::to_string(a) + "-" + std::to_string(b);
    const RangeRequest exact = wasimoff::http::parse_range(plain, file_size);
    FUZZ_CHECK(exact.kind == RangeRequest::kPartial && exact.first == a && exact.last == b,
               "a plain range was not parsed exactly");
  }
  return 0;
}
