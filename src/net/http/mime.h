// Content-Type of static files by file-name extension (docs/http-api.md §9).
#pragma once

#include <string_view>

namespace wasimoff::http {

// Content-Type for `filename` (a bare name or a path; only the part after the last '/' counts),
// chosen by its extension exactly as the table in docs/http-api.md §9. The extension is matched
// case-insensitively ("LOGO.PNG" is image/png). Names without a known extension, and dot-files
// such as ".wasm" (no stem), get "application/octet-stream".
std::string_view mime_type_for(std::string_view filename);

}  // namespace wasimoff::http
