#include "common/dotenv.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"

namespace wasimoff::dotenv {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_key_start(char c) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_key_char(char c) {
  return is_key_start(c) || (c >= '0' && c <= '9');
}

// What may follow a closing quote: blanks, optionally then an inline comment.
bool only_comment_left(std::string_view rest) {
  rest = trim_blanks(rest);
  return rest.empty() || rest.front() == '#';
}

// Parses one non-blank, non-comment line into key and value; returns the reason on failure.
std::string parse_line(std::string_view line, Entry& out) {
  // Optional "export" followed by at least one blank.
  if (line.starts_with("export") && line.size() > 6 && is_blank(line[6]))
    line = trim_blanks(line.substr(6));
  auto eq = line.find('=');
  if (eq == std::string_view::npos) return "expected KEY=value";
  auto key = trim_blanks(line.substr(0, eq));
  if (key.empty()) return "missing variable name before '='";
  if (!is_key_start(key.front()))
    return "invalid variable name (letters, digits and '_', not starting with a digit)";
  for (char c : key)
    if (!is_key_char(c))
      return "invalid variable name (letters, digits and '_', not starting with a digit)";
  out.key = std::string(key);

  const auto after_eq = line.substr(eq + 1);
  auto raw = after_eq;
  while (!raw.empty() && is_blank(raw.front())) raw.remove_prefix(1);
  out.value.clear();
  if (!raw.empty() && raw.front() == '\'') {
    auto close = raw.find('\'', 1);
    if (close == std::string_view::npos) return "unterminated single-quoted value";
    out.value = std::string(raw.substr(1, close - 1));
    if (!only_comment_left(raw.substr(close + 1))) return "unexpected text after the closing quote";
    return {};
  }
  if (!raw.empty() && raw.front() == '"') {
    std::size_t i = 1;
    for (; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '"') break;
      if (c != '\\') {
        out.value.push_back(c);
        continue;
      }
      if (++i == raw.size()) break;  // reported as unterminated below
      switch (raw[i]) {
        case 'n':
          out.value.push_back('\n');
          break;
        case 't':
          out.value.push_back('\t');
          break;
        case '"':
          out.value.push_back('"');
          break;
        case '\\':
          out.value.push_back('\\');
          break;
        default:
          return std::string("unknown escape \\") + raw[i] +
                 " in double-quoted value (use \\n, \\t, \\\" or \\\\)";
      }
    }
    if (i >= raw.size()) return "unterminated double-quoted value";
    if (!only_comment_left(raw.substr(i + 1))) return "unexpected text after the closing quote";
    return {};
  }
  // Unquoted: ends at a blank followed by '#' (also the blank right after '=': "KEY= # note").
  raw = after_eq;
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_blank(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  out.value = std::string(trim_blanks(raw));
  return {};
}

std::string describe_errno(int err) {
  return std::strerror(err);
}

}  // namespace

DotenvError::DotenvError(std::string file, int line, std::string reason)
    : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " +
                         reason),
      file_(std::move(file)),
      line_(line),
      reason_(std::move(reason)) {}

std::vector<Entry> parse(std::string_view content, const std::string& file_name) {
  std::vector<Entry> entries;
  int number = 0;
  for (auto line : split(content, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto t = trim_blanks(line);
    if (t.empty() || t.front() == '#') continue;
    Entry e;
    e.line = number;
    if (auto reason = parse_line(t, e); !reason.empty())
      throw DotenvError(file_name, number, std::move(reason));
    entries.push_back(std::move(e));
  }
  return entries;
}

LoadResult load_env_files(const std::filesystem::path& dir) {
  struct FileEntries {
    std::string path;
    std::vector<Entry> entries;
  };
  std::vector<FileEntries> files;
  for (const char* name : {".env", "config.env"}) {
    auto path = dir / name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    if (std::filesystem::is_directory(path, ec))
      throw DotenvError(path.string(), 0, "is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DotenvError(path.string(), 0, "cannot read file: " + describe_errno(errno));
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) throw DotenvError(path.string(), 0, "cannot read file: " + describe_errno(errno));
    files.push_back({path.string(), parse(content.str(), path.string())});
  }

  LoadResult result;
  for (const auto& f : files) {
    // Last entry per key within a file wins.
    std::map<std::string, std::string> last;
    std::vector<std::string> order;
    for (const auto& e : f.entries) {
      if (!last.contains(e.key)) order.push_back(e.key);
      last[e.key] = e.value;
    }
    for (const auto& key : order) {
      if (std::getenv(key.c_str()) != nullptr) continue;
      if (::setenv(key.c_str(), last[key].c_str(), 0) != 0)
        throw DotenvError(f.path, 0, "cannot set " + key + ": " + describe_errno(errno));
      result.keys_set.push_back(key);
    }
    result.files_read.push_back(f.path);
  }
  return result;
}

}  // namespace wasimoff::dotenv
