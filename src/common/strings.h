// Small string helpers used across the code base (ASCII only; no locale).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff {

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);

// Splits at every `sep`; keeps empty parts.
std::vector<std::string_view> split(std::string_view s, char sep);

// Lower-case hex of the bytes.
std::string hex_encode(std::string_view bytes);
// Decodes hex (either case); nullopt on odd length or a non-hex digit.
std::optional<std::string> hex_decode(std::string_view hex);

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Accepts standard and URL-safe alphabets, padded or not; nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

// RFC 3986 percent-decoding. With `plus_as_space` (query strings) '+' becomes ' '.
// nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space = false);
// Percent-encodes everything except unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view s);

// Constant-time comparison (for tokens): the time depends only on the lengths.
bool constant_time_equals(std::string_view a, std::string_view b);

// Case-insensitive glob: '*' matches any run (also empty), '?' exactly one character.
bool glob_match(std::string_view pattern, std::string_view text);

// Truncates to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

// Makes untrusted text (names from the network, module-derived strings, peer error texts) safe to
// print on one line in a log or a message: printable ASCII stays, except that a backslash becomes
// "\\"; \n \r \t become those escapes; every other control byte, DEL and every byte that is not
// part of a valid UTF-8 sequence becomes "\xNN". Valid non-ASCII UTF-8 is kept unless
// `ascii_only` (then every byte >= 0x80 is "\xNN", e.g. for HTTP header values). The result is cut
// at `max_bytes` of input (on a character boundary) and then ends in "…".
std::string escape_untrusted(std::string_view s, std::size_t max_bytes = 256,
                             bool ascii_only = false);

// Formats a byte count for humans: "64 MiB", "1.5 KiB", "17 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace wasimoff
