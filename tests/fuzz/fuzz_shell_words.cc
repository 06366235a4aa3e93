// fuzz_shell_words: split_shell_words (broker/api/shell_words.h) on untrusted text, as the CGI
// route receives it in the X-Args header.
//
// Checks: never crashes; a rejection carries a reason; an accepted text yields words that,
// quoted again ('…' with ' written as '\''), joined by spaces and split once more, give exactly
// the same words; every word is built from input bytes only (no word is longer than the input).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "broker/api/shell_words.h"
#include "fuzz_check.h"

namespace {

std::string quote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = wasimoff::broker::split_shell_words(text);
  if (!result) {
    FUZZ_CHECK(!result.error().message().empty(), "rejected without a reason");
    return 0;
  }
  const auto& words = *result;
  std::string line;
  for (const auto& w : words) {
    FUZZ_CHECK(w.size() <= text.size(), "word longer than the input");
    if (!line.empty()) line += ' ';
    line += quote(w);
  }
  auto again = wasimoff::broker::split_shell_words(line);
  FUZZ_CHECK(again.ok(), "quoted words are rejected");
  FUZZ_CHECK(*again == words, "quoting and splitting again changes the words");
  return 0;
}
