#include "broker/storage/directory_storage.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "common/file_ref.h"
#include "common/strings.h"

namespace wasimoff::broker {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxFileName = 255;
constexpr std::size_t kMaxNameFileSize = 1024;  // a ref + "\n" is 72 bytes
constexpr auto kStaleTemporary = std::chrono::hours(1);

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error (close can report delayed write errors).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool is_blob_name(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Reads up to `limit` bytes of `path` (the whole file when limit is npos). Returns false with
// errno set on failure.
bool read_file(const fs::path& path, std::string& out, std::size_t limit) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  out.clear();
  if (limit == std::string::npos) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return false;
    out.reserve(static_cast<std::size_t>(st.st_size));
  }
  char buffer[64 * 1024];
  while (out.size() < limit) {
    std::size_t want = std::min(sizeof buffer, limit - out.size());
    ssize_t n = ::read(fd.get(), buffer, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

void sync_directory(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    throw StorageError("cannot sync directory " + dir.string() + ": " + errno_text(errno));
}

}  // namespace

DirectoryStorage::DirectoryStorage(fs::path dir)
    : root_(std::move(dir)), blobs_(root_ / "blobs"), names_(root_ / "names"), tmp_(root_ / "tmp") {
  try {
    prepare_directories();
    remove_stale_temporaries();
    load_blobs();
    load_names();
  } catch (const fs::filesystem_error& e) {
    // Directory iteration failing half-way (I/O error, directory replaced underneath us).
    throw StorageOpenError("cannot read directory " + e.path1().string() + ": " +
                           e.code().message());
  }
}

std::string DirectoryStorage::description() const {
  return "directory " + root_.string();
}

std::string DirectoryStorage::encode_name(std::string_view alias) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(alias.size());
  for (std::size_t i = 0; i < alias.size(); ++i) {
    auto c = static_cast<unsigned char>(alias[i]);
    bool escape = c < 0x20 || c == 0x7f || c == '%' || c == '/' || (i == 0 && c == '.');
    if (escape) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::optional<std::string> DirectoryStorage::decode_name(std::string_view file_name) {
  auto name = percent_decode(file_name, false);
  if (!name || check_alias(*name)) return std::nullopt;
  return name;
}

fs::path DirectoryStorage::blob_path(std::string_view ref) const {
  return blobs_ / std::string(ref.substr(kRefPrefix.size()));
}

void DirectoryStorage::prepare_directories() {
  for (const fs::path& dir : {root_, blobs_, names_, tmp_}) {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
      if (!fs::is_directory(dir, ec)) throw StorageOpenError(dir.string() + " is not a directory");
      continue;
    }
    fs::create_directories(dir, ec);
    if (ec) throw StorageOpenError("cannot create directory " + dir.string() + ": " + ec.message());
  }
  for (const fs::path& dir : {blobs_, names_}) {
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      throw StorageOpenError("directory " + dir.string() +
                             " is not writable: " + errno_text(errno));
  }
  // A real write proves more than access(): read-only mounts, full disks, odd ACLs.
  std::string probe = (tmp_ / "probe.XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0)
    throw StorageOpenError("directory " + tmp_.string() + " is not writable: " + errno_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void DirectoryStorage::remove_stale_temporaries() {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  std::size_t kept = 0;
  for (const auto& entry : fs::directory_iterator(tmp_, ec)) {
    std::error_code entry_ec;
    auto modified = entry.last_write_time(entry_ec);
    if (!entry_ec && entry.is_regular_file(entry_ec) && now - modified > kStaleTemporary) {
      fs::remove(entry.path(), entry_ec);
      if (!entry_ec) continue;
    }
    ++kept;
  }
  if (kept > 0) spdlog::debug("storage: ignoring {} recent file(s) in {}", kept, tmp_.string());
}

void DirectoryStorage::load_blobs() {
  std::error_code ec;
  fs::directory_iterator it(blobs_, ec);
  if (ec) throw StorageOpenError("cannot list " + blobs_.string() + ": " + ec.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    std::error_code entry_ec;
    if (!is_blob_name(name) || !entry.is_regular_file(entry_ec)) {
      spdlog::warn("storage: ignoring unexpected entry {}", entry.path().string());
      continue;
    }
    std::string head;
    if (!read_file(entry.path(), head, 4)) {
      spdlog::warn("storage: ignoring unreadable blob {}: {}", entry.path().string(),
                   errno_text(errno));
      continue;
    }
    auto media = sniff_media(head);
    if (!media) {
      spdlog::warn("storage: ignoring blob {}: neither WebAssembly nor ZIP", entry.path().string());
      continue;
    }
    auto size = entry.file_size(entry_ec);
    if (entry_ec) continue;
    index_.add_file(FileInfo{std::string(kRefPrefix) + name, std::string(*media), size});
  }
}

void DirectoryStorage::load_names() {
  std::error_code ec;
  fs::directory_iterator it(names_, ec);
  if (ec) throw StorageOpenError("cannot list " + names_.string() + ": " + ec.message());
  for (const auto& entry : it) {
    std::string file_name = entry.path().filename().string();
    auto alias = decode_name(file_name);
    std::error_code entry_ec;
    std::string content;
    std::optional<std::string> ref;
    if (alias && entry.is_regular_file(entry_ec) && entry.file_size(entry_ec) <= kMaxNameFileSize &&
        read_file(entry.path(), content, kMaxNameFileSize))
      ref = normalize_ref(trim(content));
    if (!ref) {
      spdlog::warn("storage: ignoring invalid alias file {}", entry.path().string());
      continue;
    }
    index_.set_alias(std::move(*alias), std::move(*ref));
  }
}

void DirectoryStorage::write_atomically(const fs::path& target, std::string_view data) const {
  std::string temporary = (tmp_ / "new.XXXXXX").string();
  Fd fd(::mkstemp(temporary.data()));
  if (fd.get() < 0)
    throw StorageError("cannot create a file in " + tmp_.string() + ": " + errno_text(errno));
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlink(temporary.c_str());
    throw StorageError(what + ": " + errno_text(err));
  };
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + temporary);
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("cannot sync " + temporary);
  if (fd.close() != 0) fail("cannot write " + temporary);
  if (::rename(temporary.c_str(), target.c_str()) != 0)
    fail("cannot rename " + temporary + " to " + target.string());
  sync_directory(target.parent_path());
}

void DirectoryStorage::put_blob(const FileInfo& info, std::string&& bytes) {
  write_atomically(blob_path(info.ref), bytes);
}

void DirectoryStorage::put_alias(const std::string& alias, const std::string& ref) {
  std::string file_name = encode_name(alias);
  if (file_name.size() > kMaxFileName)
    throw InvalidAlias("name too long for directory storage once encoded");
  write_atomically(names_ / file_name, ref + "\n");
}

std::shared_ptr<const std::string> DirectoryStorage::get_blob(const FileInfo& info) const {
  auto path = blob_path(info.ref);
  auto bytes = std::make_shared<std::string>();
  if (!read_file(path, *bytes, std::string::npos))
    throw StorageError("cannot read " + path.string() + ": " + errno_text(errno));
  return bytes;
}

FileContent DirectoryStorage::get_content(const FileInfo& info) const {
  auto path = blob_path(info.ref);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw StorageError("cannot read " + path.string() + ": " + errno_text(errno));
  return FileContent{info, nullptr, path.string()};
}

}  // namespace wasimoff::broker
