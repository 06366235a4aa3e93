// Parsers for the value types of environment configuration (docs/configuration.md §3) and the
// naming rule that turns a CamelCase setting name into its WASIMOFF_… variable
// (docs/configuration.md §2).
//
// Every parser takes the raw text of a variable and returns either the value or a reason that
// completes the sentence `VAR="value": <reason>` (lower case, no trailing period), so callers can
// build the one-line configuration error of docs/configuration.md §6 without re-wording anything.
// Surrounding whitespace (spaces, tabs, CR/LF) of bool, int, size, duration, address and url
// values is ignored; list entries are trimmed individually.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace wasimoff::env {

// The value of a successful parse or the reason of a failed one.
template <typename T>
class Parsed {
 public:
  static Parsed success(T value) { return Parsed(std::in_place_index<0>, std::move(value)); }
  static Parsed failure(std::string reason) {
    return Parsed(std::in_place_index<1>, std::move(reason));
  }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Precondition: ok().
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  // Precondition: !ok().
  const std::string& error() const { return std::get<1>(state_); }

 private:
  template <std::size_t I, typename V>
  Parsed(std::in_place_index_t<I> i, V&& v) : state_(i, std::forward<V>(v)) {}
  std::variant<T, std::string> state_;
};

// A listen address. An empty host means "all interfaces, IPv4 and IPv6"; an IPv6 literal is
// stored without brackets.
struct Address {
  std::string host;
  std::uint16_t port = 0;

  // ":4080", "127.0.0.1:4080", "[::1]:4443", "example.org:443".
  std::string to_string() const;
  bool operator==(const Address&) const = default;
};

// An absolute URL split into its parts (no percent-decoding). `host` is without brackets for
// IPv6 literals; `port` is 0 when the URL has none; `path` is "" or starts with '/'.
struct Url {
  std::string text;    // the URL as given (trimmed)
  std::string scheme;  // lower case
  std::string host;
  std::uint16_t port = 0;
  std::string path;
  std::string query;     // without '?'
  std::string fragment;  // without '#'

  bool operator==(const Url&) const = default;
};

// `true/false`, `1/0`, `yes/no`, `on/off`, case-insensitive.
Parsed<bool> parse_bool(std::string_view text);

// A decimal integer (optional leading '-') within [min, max].
Parsed<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max);

// Integer bytes with an optional binary unit K/KiB, M/MiB, G/GiB (case-insensitive, optionally
// separated by one space), e.g. "256MiB", "64M", "1048576"; the result must be within [min, max].
Parsed<std::uint64_t> parse_size(std::string_view text, std::uint64_t min = 0,
                                 std::uint64_t max = UINT64_MAX);

// A duration: a sequence of <number><unit> with units ms, s, m, h ("90s", "1h30m", "250ms",
// "1.5h"), or a plain integer meaning seconds. Empty or "0" means "none", returned as zero.
// The resolution is one millisecond; finer values are an error rather than silently rounded.
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);

// `host:port`, `:port` (all interfaces) or `[v6addr]:port`; port 1–65535. Hosts are DNS names
// (letters, digits, '-', '.', '_') or IPv4 literals; IPv6 literals must be in brackets.
Parsed<Address> parse_address(std::string_view text);

// Comma-separated; entries trimmed; empty entries dropped. Never fails.
std::vector<std::string> parse_list(std::string_view text);

// An absolute URL `scheme://host[:port][/path][?query][#fragment]` with a non-empty host.
Parsed<Url> parse_url(std::string_view text);

// Human-readable forms used when printing effective configuration: "1h30m", "250ms", "none";
// sizes via format_bytes in common/strings.h.
std::string format_duration(std::chrono::milliseconds d);

// Splits a CamelCase name into words (docs/configuration.md §2): a word starts at an upper-case
// letter that follows a lower-case letter or digit, or at the last capital of an acronym run
// that is followed by a lower-case letter. "HTTPSListen" → {"HTTPS", "Listen"}.
std::vector<std::string> split_camel_case(std::string_view name);

// "WASIMOFF_" + the upper-cased words joined by '_': "MaxUploadSize" → "WASIMOFF_MAX_UPLOAD_SIZE".
std::string variable_name(std::string_view camel_case_field);

// The real process environment: the value of `name` if it is set (possibly empty).
std::optional<std::string> getenv_value(std::string_view name);
// The names of all variables in the real process environment, in environ order.
std::vector<std::string> environment_names();

}  // namespace wasimoff::env
