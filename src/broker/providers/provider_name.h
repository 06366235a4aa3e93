// Provider names: chosen by the provider (WebSocket/WebTransport `id` query parameter, legacy
// Event.ProviderHello.name) and shown to clients (`info.provider`, the CGI header
// `X-Wasimoff-Provider`), in logs, metrics and /debug/state. A name is therefore untrusted text
// and checked at admission.
//
// The rule: at most 128 bytes of valid UTF-8 made of printable characters — letters, digits,
// punctuation, symbols and spaces of any script. Refused are control characters (U+0000–U+001F,
// U+007F–U+009F), the line and paragraph separators U+2028/U+2029, invisible and bidirectional
// formatting characters (U+00AD, U+061C, U+180E, U+200B–U+200F, U+202A–U+202E, U+2060–U+206F,
// U+FEFF) that make a name look like another one, and the noncharacters U+FFFE/U+FFFF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wasimoff::broker {

inline constexpr std::size_t kMaxProviderNameBytes = 128;

// nullopt when `name` may be used; otherwise why not, e.g. "contains the control character
// U+000D". The empty name is valid here (callers replace it by "anonymous").
std::optional<std::string> check_provider_name(std::string_view name);

}  // namespace wasimoff::broker
