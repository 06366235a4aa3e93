#include "doc_blocks.h"

#include <algorithm>

namespace wasimoff::testing {

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string rtrim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  return s;
}

// `pattern` with "..." as the only wildcard, matched against the whole of `text`.
bool line_matches(std::string_view pattern, std::string_view text) {
  auto star = pattern.find("...");
  if (star == std::string_view::npos) return pattern == text;
  auto head = pattern.substr(0, star);
  if (text.substr(0, head.size()) != head) return false;
  auto rest = pattern.substr(star + 3);
  for (std::size_t skip = head.size(); skip <= text.size(); ++skip)
    if (line_matches(rest, text.substr(skip))) return true;
  return false;
}

bool lines_match(const std::vector<std::string>& expected, std::size_t e,
                 const std::vector<std::string>& actual, std::size_t a) {
  if (e == expected.size()) return a == actual.size();
  if (expected[e] == "...") {
    for (std::size_t skip = a; skip <= actual.size(); ++skip)
      if (lines_match(expected, e + 1, actual, skip)) return true;
    return false;
  }
  return a < actual.size() && line_matches(expected[e], actual[a]) &&
         lines_match(expected, e + 1, actual, a + 1);
}

}  // namespace

std::vector<DocBlock> extract_sh_blocks(std::string_view markdown, const std::string& file) {
  std::vector<DocBlock> out;
  auto lines = split_lines(markdown);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    auto indent = line.find_first_not_of(' ');
    if (indent == std::string::npos || line.compare(indent, 3, "```") != 0) continue;
    std::string info = line.substr(indent + 3);
    // Find the closing fence (same indentation or less, three backticks).
    std::size_t close = i + 1;
    for (; close < lines.size(); ++close) {
      auto ci = lines[close].find_first_not_of(' ');
      if (ci != std::string::npos && lines[close].compare(ci, 3, "```") == 0 &&
          lines[close].find_first_not_of('`', ci) == std::string::npos)
        break;
    }
    std::string lang = info.substr(0, info.find(' '));
    if (lang == "sh") {
      DocBlock b;
      b.file = file;
      b.line = static_cast<int>(i + 1);
      b.run = info.find("norun") == std::string::npos;
      std::vector<std::string> body;
      for (std::size_t k = i + 1; k < close && k < lines.size(); ++k) {
        std::string l = lines[k];
        std::size_t drop = std::min(indent, l.find_first_not_of(' ') == std::string::npos
                                                ? l.size()
                                                : l.find_first_not_of(' '));
        body.push_back(l.substr(drop));
      }
      std::size_t first_expected = body.size();
      while (first_expected > 0) {
        const std::string& l = body[first_expected - 1];
        if (l.empty() || l[0] != '#') break;
        --first_expected;
      }
      for (std::size_t k = 0; k < first_expected; ++k) b.script += body[k] + "\n";
      for (std::size_t k = first_expected; k < body.size(); ++k) {
        std::string l = body[k];
        b.expected.push_back(l.size() >= 2 && l[1] == ' ' ? l.substr(2) : l.substr(1));
      }
      out.push_back(std::move(b));
    }
    i = close;
  }
  return out;
}

std::optional<std::string> match_output(const std::vector<std::string>& expected,
                                        std::string_view actual) {
  std::vector<std::string> want;
  for (const auto& e : expected) want.push_back(rtrim(e));
  std::vector<std::string> got;
  for (auto& l : split_lines(actual)) got.push_back(rtrim(l));
  if (lines_match(want, 0, got, 0)) return std::nullopt;
  // Describe the first line that differs (ignoring wildcard lines).
  std::size_t a = 0;
  for (std::size_t e = 0; e < want.size(); ++e) {
    if (want[e] == "...") return "output does not match the expected lines after a `...` line";
    if (a >= got.size()) return "output ends before expected line: " + want[e];
    if (!line_matches(want[e], got[a]))
      return "expected line: " + want[e] + "\n     got line: " + got[a];
    ++a;
  }
  return "output has more lines than expected, next: " + (a < got.size() ? got[a] : "");
}

std::vector<std::string> relative_links(std::string_view markdown) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = markdown.find("](", pos)) != std::string_view::npos) {
    auto end = markdown.find(')', pos + 2);
    if (end == std::string_view::npos) break;
    std::string target(markdown.substr(pos + 2, end - pos - 2));
    pos = end;
    if (target.empty() || target[0] == '#' || target.find("://") != std::string::npos ||
        target.starts_with("mailto:"))
      continue;
    if (auto hash = target.find('#'); hash != std::string::npos) target.resize(hash);
    out.push_back(target);
  }
  return out;
}

}  // namespace wasimoff::testing
