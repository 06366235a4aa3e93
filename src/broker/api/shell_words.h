// Shell-style word splitting for the CGI route's X-Args header (docs/http-api.md §5).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wasimoff::broker {

// Words are separated by unquoted spaces, tabs or newlines; '…' keeps everything literally;
// "…" keeps everything except that '\' takes the next character literally; outside quotes '\'
// takes the next character literally; an unquoted '#' at the start of a word starts a comment to
// the end of the line; adjacent quoted and unquoted parts join into one word.
// Returns the words, or invalid_argument with the reason ("unterminated single quote",
// "trailing backslash", …).
Result<std::vector<std::string>> split_shell_words(std::string_view text);

}  // namespace wasimoff::broker
