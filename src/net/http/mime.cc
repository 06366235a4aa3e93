#include "net/http/mime.h"

#include <array>
#include <utility>

#include "common/strings.h"

namespace wasimoff::http {

namespace {

constexpr std::string_view kDefault = "application/octet-stream";

constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kTable{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"zip", "application/zip"},
}};

}  // namespace

std::string_view mime_type_for(std::string_view filename) {
  auto slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  auto dot = filename.rfind('.');
  // No dot, or the only dot starts the name (".wasm" is a dot-file, not a wasm module).
  if (dot == std::string_view::npos || dot == 0) return kDefault;
  auto ext = filename.substr(dot + 1);
  for (const auto& [known, type] : kTable)
    if (iequals(ext, known)) return type;
  return kDefault;
}

}  // namespace wasimoff::http
