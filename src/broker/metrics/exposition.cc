#include "broker/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace wasimoff::metrics {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  constexpr double kExact = 9007199254740992.0;  // 2^53: every integer below is exact
  if (v == std::trunc(v) && std::fabs(v) < kExact)
    return std::to_string(static_cast<std::int64_t>(v));  // also turns -0 into "0"
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";  // cannot happen for a finite double and 32 bytes
  return std::string(buf, end);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {
bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
}  // namespace

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_alpha_(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!(is_alpha_(c) || is_digit(c) || c == ':')) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !is_alpha_(name[0]) || name.starts_with("__")) return false;
  for (char c : name)
    if (!(is_alpha_(c) || is_digit(c))) return false;
  return true;
}

void append_sample(std::string& out, std::string_view name, const LabelPairs& labels,
                   double value) {
  out += name;
  if (!labels.empty()) {
    out.push_back('{');
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out.push_back(',');
      first = false;
      out += k;
      out += "=\"";
      out += escape_label_value(v);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  out += format_value(value);
  out.push_back('\n');
}

}  // namespace wasimoff::metrics
