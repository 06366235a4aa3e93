// A fresh directory under the system temp dir ($TMPDIR or /tmp), removed with everything in it
// on destruction. Header-only (target wasimoff_test_util), for unit and integration tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace wasimoff::testing {

class TempDir {
 public:
  // Creates the directory like mkdir(1) (mode 0777 less the umask, not mkdtemp's 0700): a test
  // that drops privileges must still reach paths inside it. Throws std::runtime_error if it
  // cannot.
  TempDir() {
    std::random_device rd;
    for (int attempt = 0;; ++attempt) {
      path_ = std::filesystem::temp_directory_path() /
              ("wasimoff-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) break;
      if (attempt > 100) throw std::runtime_error("cannot create a temporary directory");
    }
  }
  // Removes the directory and its contents; errors are ignored.
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory (which need not exist).
  std::filesystem::path operator/(const std::filesystem::path& name) const { return path_ / name; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

  // Writes `content` to `name` inside the directory (replacing it, creating missing parent
  // directories) and returns its path.
  std::string write(std::string_view name, std::string_view content) const {
    auto p = path_ / name;
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    return p.string();
  }
  // The contents of `name` inside the directory; empty if it cannot be read.
  std::string read(std::string_view name) const {
    std::ifstream in(path_ / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace wasimoff::testing
