// `.env` / `config.env` files (docs/configuration.md §1).
//
// Syntax, one entry per line: `KEY=value` with an optional leading `export `; blank lines and
// lines whose first non-blank character is `#` are ignored; CR before LF is ignored.
//   * KEY is [A-Za-z_][A-Za-z0-9_]*; blanks around KEY and '=' are allowed.
//   * Unquoted values end at the first blank followed by '#' (inline comment) and are trimmed.
//   * 'single-quoted' values are literal; "double-quoted" values understand the escapes \n, \t,
//     \" and \\ (any other escape is an error). After the closing quote only blanks or an inline
//     comment may follow. Quoted values cannot span lines.
// Anything else is an error that names the file and the line number. Within one file the last
// entry for a key wins.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::dotenv {

struct Entry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based
};

// A malformed line. what() is "<file>:<line>: <reason>" ("<file>: <reason>" when the file as a
// whole cannot be read, line 0); the line's content is not repeated because it may hold a secret.
class DotenvError : public std::runtime_error {
 public:
  DotenvError(std::string file, int line, std::string reason);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  int line_;
  std::string reason_;
};

// Parses file content; `file_name` is only used in error messages. Throws DotenvError.
std::vector<Entry> parse(std::string_view content, const std::string& file_name);

struct LoadResult {
  std::vector<std::string> files_read;  // paths that existed and were applied, in order
  std::vector<std::string> keys_set;    // keys this call exported into the environment
};

// Reads `<dir>/.env` then `<dir>/config.env` (missing files are skipped silently) and exports
// every key that is not yet in the process environment, so the real environment wins over
// `.env`, which wins over `config.env`. Both files are parsed before anything is exported, so a
// malformed line leaves the environment untouched. Throws DotenvError for a malformed line and
// for a file that exists but cannot be read (line 0). Not thread-safe (setenv): call at startup.
LoadResult load_env_files(const std::filesystem::path& dir = std::filesystem::current_path());

}  // namespace wasimoff::dotenv
