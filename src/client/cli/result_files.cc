#include "client/cli/result_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "client/client_error.h"
#include "common/strings.h"
#include "common/zip_archive.h"
#include "protocol/codec.h"

namespace wasimoff::cli {

namespace fs = std::filesystem;
using client::local_error;

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

// Writes `data` to `path` (O_NOFOLLOW: an existing symlink there is an error, not a redirect).
void write_file(const std::string& path, std::string_view data, std::int64_t mtime = 0) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw local_error("cannot write " + path + ": " + errno_text());
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errno_text();
      ::close(fd);
      throw local_error("cannot write " + path + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (mtime > 0) {
    timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ::futimens(fd, times);  // best effort: the content matters, the time is a courtesy
  }
  if (::close(fd) != 0) throw local_error("cannot write " + path + ": " + errno_text());
}

// Makes sure `dir` is a real directory (creating it if missing); refuses symlinks.
void ensure_directory(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw local_error("cannot unpack into " + dir.string() +
                      (S_ISLNK(st.st_mode) ? ": it is a symbolic link" : ": not a directory"));
  }
  if (errno != ENOENT) throw local_error("cannot use " + dir.string() + ": " + errno_text());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw local_error("cannot create " + dir.string() + ": " + errno_text());
}

// Creates every directory from `root` (exclusive) down to `root/relative` (inclusive).
void ensure_directories(const fs::path& root, const fs::path& relative) {
  fs::path at = root;
  for (const auto& part : relative) {
    at /= part;
    ensure_directory(at);
  }
}

}  // namespace

std::string result_summary_json(const v1::Task::Wasip1::Response& response) {
  v1::Task::Wasip1::Response copy = response;
  if (copy.has_ok()) {
    auto* ok = copy.mutable_ok();
    ok->clear_stdout();
    ok->clear_stderr();
    if (ok->has_artifacts()) ok->mutable_artifacts()->clear_blob();
  }
  return protocol::encode_json(copy) + "\n";
}

std::size_t extract_artifacts(std::string_view zip, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw local_error("cannot create " + dir + ": " + ec.message());
  fs::path root(dir);
  std::size_t files = 0;
  try {
    read_zip(zip, ZipReadLimits{}, [&](ZipEntry&& entry) {
      fs::path rel(entry.name);
      if (entry.is_directory) {
        ensure_directories(root, rel);
        return;
      }
      ensure_directories(root, rel.parent_path());
      write_file((root / rel).string(), entry.data, entry.mtime);
      ++files;
    });
  } catch (const ZipError& e) {
    throw local_error("the task's artifacts are not a valid archive: " + std::string(e.what()));
  }
  return files;
}

void write_result_dir(const std::string& dir, const v1::Task::Wasip1::Response& response) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw local_error("cannot create " + dir + ": " + ec.message());
  fs::path root(dir);
  const auto& ok = response.ok();
  write_file((root / "stdout").string(), response.has_ok() ? ok.stdout() : "");
  write_file((root / "stderr").string(), response.has_ok() ? ok.stderr() : "");
  write_file((root / "result.json").string(), result_summary_json(response));
  if (response.has_ok() && ok.has_artifacts() && !ok.artifacts().blob().empty())
    extract_artifacts(ok.artifacts().blob(), (root / "artifacts").string());
}

}  // namespace wasimoff::cli
