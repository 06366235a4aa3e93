// Command examples in the Markdown documentation, as the docs test sees them (conventions in
// docs/README.md, "How the examples are tested"):
//
//  * every fenced block whose language is `sh` is an example that runs, in document order, with
//    `bash -e -o pipefail`; the info string `sh norun` marks one that must not run (production
//    deployment, long-running servers) and is only counted;
//  * the lines at the end of a block that start with `#` are the expected standard output of the
//    whole block ("# " and a lone "#" are stripped). In them `...` matches any text within a
//    line, and a line that is only `...` matches any number of lines. Without such lines only the
//    exit status (0) is checked.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::testing {

struct DocBlock {
  std::string file;
  int line = 0;                       // 1-based line of the opening fence
  bool run = true;                    // false for `sh norun`
  std::string script;                 // the block without the expected-output lines
  std::vector<std::string> expected;  // expected stdout lines (prefix stripped); empty = unchecked
};

// The `sh` blocks of a Markdown text, in order. Indented fences (inside list items) are
// supported; their indentation is removed from the block's lines.
std::vector<DocBlock> extract_sh_blocks(std::string_view markdown, const std::string& file);

// nullopt when `actual` (a whole stdout) matches the expected lines, otherwise a description of
// the first difference.
std::optional<std::string> match_output(const std::vector<std::string>& expected,
                                        std::string_view actual);

// Relative link targets of `](target)` Markdown links (no scheme, no pure #anchors), with any
// #anchor removed, in order.
std::vector<std::string> relative_links(std::string_view markdown);

}  // namespace wasimoff::testing
