#include "net/http/redact.h"

#include "common/strings.h"

namespace wasimoff::http {

std::string redact_secrets(std::string_view text) {
  constexpr std::string_view kName = "token=";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    // A parameter starts after '?' or '&'.
    bool at_param = i > 0 && (text[i - 1] == '?' || text[i - 1] == '&');
    if (at_param && istarts_with(text.substr(i), kName)) {
      out.append(text.substr(i, kName.size()));
      out += "(redacted)";
      i += kName.size();
      while (i < text.size() && text[i] != '&' && text[i] != '#' && text[i] != ' ' &&
             text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
        ++i;
      continue;
    }
    out.push_back(text[i++]);
  }
  return out;
}

}  // namespace wasimoff::http
