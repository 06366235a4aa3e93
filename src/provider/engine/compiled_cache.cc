// engine::ModuleCompiler's cache directory (engine/compiler_state.h): the names of compiled
// objects (module ref + toolchain identity), scratch directories for the tools, objects found on
// disk from an earlier process, installing a checked object, and removing files. The free
// functions do disk I/O and run on the thread pool.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

#include "common/file_ref.h"
#include "common/strings.h"
#include "provider/engine/compiler_state.h"
#include "provider/engine/elf_check.h"

namespace wasimoff::engine {

namespace detail {

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path, std::uint64_t max) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error("cannot read " + path.string() + ": " + ec.message());
  if (size > max)
    throw UnsupportedModule(fmt::format("module is larger than {}", format_bytes(max)));
  std::ifstream in(path, std::ios::binary);
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return data;
}

std::string read_regular_file(const fs::path& path, std::uint64_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw UnsupportedModule("the C compiler produced no shared object");
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > max) {
    ::close(fd);
    throw UnsupportedModule("the C compiler produced no usable shared object");
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    ssize_t r = ::read(fd, data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  if (got != data.size())
    throw UnsupportedModule("the C compiler produced no usable shared object");
  return data;
}

std::optional<std::string> probe_cached(const fs::path& target) {
  std::error_code ec;
  if (!fs::is_regular_file(target, ec)) return std::nullopt;
  std::string why = check_compiled_module(read_file(target, kMaxObjectBytes));
  if (!why.empty()) fs::remove(target, ec);
  return why;
}

void install_object(const fs::path& dir, const fs::path& target, std::uint64_t max_object) {
  // Read back without following links: the file was written by the sandbox user.
  std::string object = read_regular_file(dir / "module.so", max_object);
  if (std::string why = check_compiled_module(object); !why.empty()) {
    spdlog::error("compiled module {} rejected: {}", target.filename().string(), why);
    throw UnsupportedModule(why);
  }
  fs::create_directories(target.parent_path());
  std::string staged = target.string() + ".XXXXXX";
  int fd = mkstemp(staged.data());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp " + staged);
  ::close(fd);
  try {
    write_file(staged, object);
    fs::permissions(staged, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::others_read);
    fs::rename(staged, target);
  } catch (...) {
    std::error_code ec;
    fs::remove(staged, ec);
    throw;
  }
}

void remove_compiled(const fs::path& dir, const std::string& hex) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (n.rfind(hex + ".", 0) == 0 && n.size() > 3 && n.substr(n.size() - 3) == ".so")
      fs::remove(it->path(), ec);
  }
}

void remove_leftovers(const CompilerOptions& options) {
  std::error_code ec;
  auto old = fs::file_time_type::clock::now() - options.max_budget - std::chrono::hours(1);
  for (const fs::path& root : {options.cache_dir, options.scratch_dir}) {
    if (root.empty()) continue;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      std::string n = it->path().filename().string();
      bool ours = n.rfind("tmp-", 0) == 0 || n.find(".so.") != std::string::npos;
      std::error_code rm;
      if (ours && fs::last_write_time(it->path(), rm) < old && !rm) fs::remove_all(it->path(), rm);
    }
  }
}

}  // namespace detail

using namespace detail;

std::string ModuleCompiler::State::file_name(const std::string& ref) const {
  std::string hex = ref.substr(kRefPrefix.size());
  return hex + "." + identity_tag + ".so";
}

fs::path ModuleCompiler::State::make_scratch() const {
  fs::path root = options.scratch_dir.empty() ? options.cache_dir : options.scratch_dir;
  fs::create_directories(root);
  std::string tmpl = (root / "tmp-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    throw std::runtime_error("cannot create a temporary directory in " + root.string());
  if (auto c = sandbox().credentials()) {
    if (chown(tmpl.c_str(), c->first, c->second) != 0) {
      int e = errno;
      std::error_code ec;
      fs::remove(tmpl, ec);
      throw std::system_error(e, std::generic_category(), "chown " + tmpl);
    }
  }
  return tmpl;
}

}  // namespace wasimoff::engine
