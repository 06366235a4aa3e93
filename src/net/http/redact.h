// Keeps secrets out of logs and error messages: URLs and request targets may carry a token in
// their query (`?token=…`, docs/protocol.md §6/§7), and texts built from them end up in logs.
#pragma once

#include <string>
#include <string_view>

namespace wasimoff::http {

// `text` (a URL, a request target, or a message containing one) with the value of every query
// parameter named `token` (any case, also percent-encoded names are not decoded: the name must
// be literally `token`) replaced by "(redacted)":
//   "https://b:4443/transport?id=p&token=s3cret" → "https://b:4443/transport?id=p&token=(redacted)"
// A value ends at '&', '#', whitespace or the end of the text.
std::string redact_secrets(std::string_view text);

}  // namespace wasimoff::http
