#include "net/h3/settings.h"

#include <algorithm>
#include <span>

#include "net/h3/varint.h"

namespace wasimoff::h3 {

std::optional<std::uint64_t> Settings::get(std::uint64_t id) const {
  for (const auto& [k, v] : entries)
    if (k == id) return v;
  return std::nullopt;
}

void Settings::set(std::uint64_t id, std::uint64_t value) {
  for (auto& [k, v] : entries) {
    if (k == id) {
      v = value;
      return;
    }
  }
  entries.emplace_back(id, value);
}

std::string encode_settings_payload(const Settings& settings) {
  std::string out;
  for (const auto& [k, v] : settings.entries) {
    append_varint(out, k);
    append_varint(out, v);
  }
  return out;
}

std::optional<Settings> decode_settings_payload(std::string_view payload, std::string* error) {
  std::span<const std::uint8_t> in(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                   payload.size());
  Settings out;
  while (!in.empty()) {
    auto id = decode_varint(in);
    std::optional<Varint> value;
    if (id) value = decode_varint(in.subspan(id->length));
    if (!id || !value) {
      if (error) *error = "truncated SETTINGS entry";
      return std::nullopt;
    }
    in = in.subspan(id->length + value->length);
    if (id->value >= 0x02 && id->value <= 0x05) {
      if (error) *error = "HTTP/2 setting identifier in HTTP/3 SETTINGS";
      return std::nullopt;
    }
    if (out.get(id->value)) {
      if (error) *error = "repeated SETTINGS identifier";
      return std::nullopt;
    }
    out.entries.emplace_back(id->value, value->value);
  }
  return out;
}

}  // namespace wasimoff::h3
