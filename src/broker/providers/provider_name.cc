#include "broker/providers/provider_name.h"

#include <fmt/format.h>

namespace wasimoff::broker {

namespace {

// Decodes one UTF-8 sequence at `s[i]`; returns the code point and advances `i`, or nullopt for
// an invalid, overlong or surrogate sequence.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  std::size_t len = b < 0x80           ? 1
                    : (b >> 5) == 0x6  ? 2
                    : (b >> 4) == 0xe  ? 3
                    : (b >> 3) == 0x1e ? 4
                                       : 0;
  if (len == 0 || i + len > s.size()) return std::nullopt;
  char32_t cp = len == 1 ? b : b & (0x7f >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  i += len;
  return cp;
}

bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

bool is_invisible_or_separator(char32_t c) {
  return c == 0x00ad || c == 0x061c || c == 0x180e || (c >= 0x200b && c <= 0x200f) || c == 0x2028 ||
         c == 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x206f) ||
         c == 0xfeff || c == 0xfffe || c == 0xffff;
}

}  // namespace

std::optional<std::string> check_provider_name(std::string_view name) {
  if (name.size() > kMaxProviderNameBytes)
    return fmt::format("longer than {} bytes ({} bytes)", kMaxProviderNameBytes, name.size());
  for (std::size_t i = 0; i < name.size();) {
    auto cp = next_code_point(name, i);
    if (!cp) return std::string("not valid UTF-8");
    if (is_control(*cp)) return fmt::format("contains the control character U+{:04X}", +*cp);
    if (is_invisible_or_separator(*cp))
      return fmt::format("contains the invisible or formatting character U+{:04X}", +*cp);
  }
  return std::nullopt;
}

}  // namespace wasimoff::broker
