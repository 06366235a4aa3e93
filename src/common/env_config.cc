#include "common/env_config.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <limits>

#include "common/strings.h"

extern char** environ;

namespace wasimoff::env {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_alpha(char c) {
  return is_upper(c) || is_lower(c);
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Unsigned decimal without sign; nullopt on empty input, a non-digit or overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<unsigned>(c - '0'), &v))
      return std::nullopt;
  }
  return v;
}

std::string size_text(std::uint64_t bytes) {
  return format_bytes(bytes);
}

// Port 1–65535 from decimal digits.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  auto v = parse_decimal(text);
  if (!v || *v < 1 || *v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

bool is_ipv6_literal(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_ipv4_literal(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

// A DNS name or IPv4 literal (not bracketed IPv6). Returns a reason on failure.
std::optional<std::string> check_host(std::string_view host) {
  if (host.empty()) return std::nullopt;
  bool digits_and_dots = true;
  for (char c : host) {
    if (!(is_alnum(c) || c == '-' || c == '.' || c == '_'))
      return "invalid host " + in_quotes(host) +
             " (letters, digits, '-', '.', '_' or an IP address)";
    if (!is_digit(c) && c != '.') digits_and_dots = false;
  }
  if (digits_and_dots && !is_ipv4_literal(std::string(host)))
    return "invalid IPv4 address " + in_quotes(host);
  return std::nullopt;
}

}  // namespace

std::string Address::to_string() const {
  std::string p = std::to_string(port);
  if (host.empty()) return ":" + p;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + p;
  return host + ":" + p;
}

Parsed<bool> parse_bool(std::string_view text) {
  auto t = trim(text);
  for (auto yes : {"true", "1", "yes", "on"})
    if (iequals(t, yes)) return Parsed<bool>::success(true);
  for (auto no : {"false", "0", "no", "off"})
    if (iequals(t, no)) return Parsed<bool>::success(false);
  return Parsed<bool>::failure("expected true/false, 1/0, yes/no or on/off");
}

Parsed<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max) {
  auto t = trim(text);
  bool negative = !t.empty() && t.front() == '-';
  auto magnitude = parse_decimal(negative ? t.substr(1) : t);
  auto range = [&] {
    return Parsed<std::int64_t>::failure("must be between " + std::to_string(min) + " and " +
                                         std::to_string(max));
  };
  if (!magnitude) {
    // All digits but too many of them: a range problem, not a syntax problem.
    auto digits = negative ? t.substr(1) : t;
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos)
      return range();
    return Parsed<std::int64_t>::failure("expected a decimal integer");
  }
  constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (*magnitude > limit + (negative ? 1 : 0)) return range();
  std::int64_t v =
      negative ? static_cast<std::int64_t>(0 - *magnitude) : static_cast<std::int64_t>(*magnitude);
  if (v < min || v > max) return range();
  return Parsed<std::int64_t>::success(v);
}

Parsed<std::uint64_t> parse_size(std::string_view text, std::uint64_t min, std::uint64_t max) {
  auto t = trim(text);
  std::size_t n = 0;
  while (n < t.size() && is_digit(t[n])) ++n;
  if (n == 0)
    return Parsed<std::uint64_t>::failure(
        "expected a size such as 256MiB, 64M or 1048576 (units K/KiB, M/MiB, G/GiB)");
  auto unit = t.substr(n);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  std::uint64_t multiplier = 0;
  if (unit.empty())
    multiplier = 1;
  else if (iequals(unit, "K") || iequals(unit, "KiB"))
    multiplier = 1ull << 10;
  else if (iequals(unit, "M") || iequals(unit, "MiB"))
    multiplier = 1ull << 20;
  else if (iequals(unit, "G") || iequals(unit, "GiB"))
    multiplier = 1ull << 30;
  else if (unit.front() == '.')
    return Parsed<std::uint64_t>::failure(
        "fractions are not supported; use a smaller unit, e.g. 1536M instead of 1.5G");
  else
    return Parsed<std::uint64_t>::failure("unknown size unit " + in_quotes(unit) +
                                          " (use K/KiB, M/MiB or G/GiB; all are binary multiples)");
  auto number = parse_decimal(t.substr(0, n));
  std::uint64_t bytes = 0;
  if (!number || __builtin_mul_overflow(*number, multiplier, &bytes))
    return Parsed<std::uint64_t>::failure("too large");
  if (bytes < min || bytes > max) {
    if (max == UINT64_MAX)
      return Parsed<std::uint64_t>::failure("must be at least " + size_text(min));
    if (min == 0) return Parsed<std::uint64_t>::failure("must be at most " + size_text(max));
    return Parsed<std::uint64_t>::failure("must be between " + size_text(min) + " and " +
                                          size_text(max));
  }
  return Parsed<std::uint64_t>::success(bytes);
}

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using R = Parsed<std::chrono::milliseconds>;
  auto t = trim(text);
  if (t.empty()) return R::success(std::chrono::milliseconds::zero());
  if (t.front() == '-') return R::failure("must not be negative");
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::string syntax = "expected a duration such as 90s, 1h30m or 250ms";

  // A plain integer means seconds.
  if (t.find_first_not_of("0123456789") == std::string_view::npos) {
    auto secs = parse_decimal(t);
    std::int64_t ms = 0;
    if (!secs || *secs > static_cast<std::uint64_t>(kMax / 1000)) return R::failure("too large");
    ms = static_cast<std::int64_t>(*secs) * 1000;
    return R::success(std::chrono::milliseconds(ms));
  }

  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t start = i;
    while (i < t.size() && is_digit(t[i])) ++i;
    auto int_digits = t.substr(start, i - start);
    std::string_view frac_digits;
    if (i < t.size() && t[i] == '.') {
      std::size_t fstart = ++i;
      while (i < t.size() && is_digit(t[i])) ++i;
      frac_digits = t.substr(fstart, i - fstart);
    }
    if (int_digits.empty() && frac_digits.empty()) return R::failure(syntax);
    auto number_text = t.substr(start, i - start);
    std::size_t ustart = i;
    while (i < t.size() && is_alpha(t[i])) ++i;
    auto unit = t.substr(ustart, i - ustart);
    if (i < t.size() && !is_digit(t[i]) && t[i] != '.') return R::failure(syntax);
    std::int64_t unit_ms = 0;
    if (unit == "ms")
      unit_ms = 1;
    else if (unit == "s")
      unit_ms = 1000;
    else if (unit == "m")
      unit_ms = 60'000;
    else if (unit == "h")
      unit_ms = 3'600'000;
    else if (unit.empty())
      return R::failure("missing unit after " + in_quotes(number_text) + " (use ms, s, m or h)");
    else
      return R::failure("unknown duration unit " + in_quotes(unit) + " (use ms, s, m or h)");

    auto whole = int_digits.empty() ? std::optional<std::uint64_t>(0) : parse_decimal(int_digits);
    std::int64_t part = 0;
    if (!whole || *whole > static_cast<std::uint64_t>(kMax) ||
        __builtin_mul_overflow(static_cast<std::int64_t>(*whole), unit_ms, &part))
      return R::failure("too large");
    if (!frac_digits.empty()) {
      // Fraction of the unit in milliseconds; must come out whole.
      if (frac_digits.size() > 9) return R::failure("finer than the 1ms resolution");
      std::int64_t scale = 1;
      for (std::size_t k = 0; k < frac_digits.size(); ++k) scale *= 10;
      auto frac = static_cast<std::int64_t>(*parse_decimal(frac_digits));
      __int128 num = static_cast<__int128>(frac) * unit_ms;
      if (num % scale != 0) return R::failure("finer than the 1ms resolution");
      if (__builtin_add_overflow(part, static_cast<std::int64_t>(num / scale), &part))
        return R::failure("too large");
    }
    if (__builtin_add_overflow(total, part, &total)) return R::failure("too large");
  }
  return R::success(std::chrono::milliseconds(total));
}

Parsed<Address> parse_address(std::string_view text) {
  using R = Parsed<Address>;
  auto t = trim(text);
  const std::string port_range = "port must be a number between 1 and 65535";
  const std::string missing_port = "missing port (expected host:port, :port or [v6addr]:port)";
  Address a;
  std::string_view port_text;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos) return R::failure("missing ']' after the IPv6 address");
    a.host = std::string(t.substr(1, close - 1));
    if (!is_ipv6_literal(a.host)) return R::failure("invalid IPv6 address " + in_quotes(a.host));
    auto rest = t.substr(close + 1);
    if (rest.empty()) return R::failure(missing_port);
    if (rest.front() != ':')
      return R::failure("expected ':' and a port after " + in_quotes(t.substr(0, close + 1)));
    port_text = rest.substr(1);
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos) return R::failure(missing_port);
    auto host = t.substr(0, colon);
    if (host.find(':') != std::string_view::npos)
      return R::failure("IPv6 addresses must be enclosed in brackets, e.g. [::1]:4080");
    if (auto bad = check_host(host)) return R::failure(*bad);
    a.host = std::string(host);
    port_text = t.substr(colon + 1);
  }
  if (port_text.empty()) return R::failure(missing_port);
  auto port = parse_port(port_text);
  if (!port) return R::failure(port_range);
  a.port = *port;
  return R::success(std::move(a));
}

std::vector<std::string> parse_list(std::string_view text) {
  std::vector<std::string> out;
  for (auto part : split(text, ',')) {
    auto e = trim(part);
    if (!e.empty()) out.emplace_back(e);
  }
  return out;
}

Parsed<Url> parse_url(std::string_view text) {
  using R = Parsed<Url>;
  auto t = trim(text);
  const std::string syntax = "expected an absolute URL such as https://example.org/path";
  for (unsigned char c : t)
    if (c <= 0x20 || c == 0x7f) return R::failure("must not contain spaces or control characters");
  auto sep = t.find("://");
  if (sep == std::string_view::npos || sep == 0 || !is_alpha(t[0])) return R::failure(syntax);
  Url u;
  u.text = std::string(t);
  for (char c : t.substr(0, sep))
    if (!(is_alnum(c) || c == '+' || c == '-' || c == '.')) return R::failure(syntax);
  u.scheme = to_lower(t.substr(0, sep));
  auto rest = t.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return R::failure("user information (user@host) is not supported in URLs");
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return R::failure("missing ']' after the IPv6 address");
    u.host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6_literal(u.host)) return R::failure("invalid IPv6 address " + in_quotes(u.host));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return R::failure(syntax);
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    auto host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return R::failure("missing host in URL (expected scheme://host/path)");
    if (auto bad = check_host(host)) return R::failure(*bad);
    u.host = std::string(host);
  }
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) return R::failure("URL port must be a number between 1 and 65535");
    u.port = *port;
  }
  auto hash = rest.find('#');
  if (hash != std::string_view::npos) {
    u.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  auto q = rest.find('?');
  if (q != std::string_view::npos) {
    u.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  u.path = std::string(rest);
  return R::success(std::move(u));
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms <= 0) return "none";
  std::string out;
  auto emit = [&](std::int64_t unit, const char* name) {
    if (ms >= unit) {
      out += std::to_string(ms / unit) + name;
      ms %= unit;
    }
  };
  emit(3'600'000, "h");
  emit(60'000, "m");
  emit(1000, "s");
  emit(1, "ms");
  return out;
}

std::vector<std::string> split_camel_case(std::string_view name) {
  std::vector<std::string> words;
  std::string current;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!is_alnum(c)) {  // not expected in field names; treat as a separator
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
      continue;
    }
    bool boundary = false;
    if (i > 0 && is_upper(c) && !current.empty()) {
      char prev = name[i - 1];
      bool next_lower = i + 1 < name.size() && is_lower(name[i + 1]);
      boundary = is_lower(prev) || is_digit(prev) || (is_upper(prev) && next_lower);
    }
    if (boundary) {
      words.push_back(std::move(current));
      current.clear();
    }
    current.push_back(c);
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::string variable_name(std::string_view camel_case_field) {
  std::string out = "WASIMOFF";
  for (const auto& w : split_camel_case(camel_case_field)) out += "_" + to_upper(w);
  return out;
}

std::optional<std::string> getenv_value(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    names.emplace_back(entry.substr(0, eq));
  }
  return names;
}

}  // namespace wasimoff::env
