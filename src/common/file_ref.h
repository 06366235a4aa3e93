// Content addresses ("refs") and media-type sniffing for stored files.
//
// A ref is "sha256:" followed by 64 lower-case hex digits of SHA-256 over the file's bytes
// (docs/http-api.md §6). Only WebAssembly modules and ZIP archives are ever stored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wasimoff {

inline constexpr std::string_view kRefPrefix = "sha256:";
inline constexpr std::string_view kMediaWasm = "application/wasm";
inline constexpr std::string_view kMediaZip = "application/zip";

// The ref of these bytes.
std::string make_ref(std::string_view bytes);

// If `text` is a well-formed ref (hex in either case), its canonical lower-case form; otherwise
// nullopt (then it is an alias).
std::optional<std::string> normalize_ref(std::string_view text);

// "application/wasm" for "\0asm", "application/zip" for "PK\3\4" or "PK\5\6" (empty archive),
// nullopt for anything else.
std::optional<std::string_view> sniff_media(std::string_view bytes);

// True for "application/wasm" / "application/zip", ignoring parameters and case.
bool is_media(std::string_view media_type, std::string_view expected);

// Alias rules (docs/http-api.md §6.1): 1–255 bytes of UTF-8, no '/', no control characters, must
// not start with "sha256:". Returns the reason on failure.
std::optional<std::string> check_alias(std::string_view name);

}  // namespace wasimoff
