#include "common/file_ref.h"

#include "common/sha256.h"
#include "common/strings.h"

namespace wasimoff {

std::string make_ref(std::string_view bytes) { return std::string(kRefPrefix) + sha256_hex(bytes); }

std::optional<std::string> normalize_ref(std::string_view text) {
  if (text.size() != kRefPrefix.size() + 64 || !istarts_with(text, kRefPrefix)) return std::nullopt;
  std::string out(kRefPrefix);
  for (char c : text.substr(kRefPrefix.size())) {
    bool digit = c >= '0' && c <= '9';
    bool lower_hex = c >= 'a' && c <= 'f';
    bool upper_hex = c >= 'A' && c <= 'F';
    if (!digit && !lower_hex && !upper_hex) return std::nullopt;
    out.push_back(upper_hex ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::optional<std::string_view> sniff_media(std::string_view bytes) {
  using namespace std::string_view_literals;
  if (bytes.substr(0, 4) == "\0asm"sv) return kMediaWasm;
  if (bytes.substr(0, 4) == "PK\x03\x04"sv || bytes.substr(0, 4) == "PK\x05\x06"sv) return kMediaZip;
  return std::nullopt;
}

bool is_media(std::string_view media_type, std::string_view expected) {
  auto semi = media_type.find(';');
  return iequals(trim(media_type.substr(0, semi)), expected);
}

std::optional<std::string> check_alias(std::string_view name) {
  if (name.empty() || name.size() > 255) return "name must be 1-255 bytes";
  if (istarts_with(name, kRefPrefix)) return "name must not start with sha256:";
  for (unsigned char c : name) {
    if (c == '/') return "name must not contain '/'";
    if (c < 0x20 || c == 0x7f) return "name must not contain control characters";
  }
  // Validate UTF-8 structure (no overlong check needed for our purposes beyond well-formedness).
  for (std::size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > name.size()) return "name must be valid UTF-8";
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(name[i + k]) & 0xC0) != 0x80) return "name must be valid UTF-8";
    i += len;
  }
  return std::nullopt;
}

}  // namespace wasimoff
