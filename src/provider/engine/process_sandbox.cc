#include "provider/engine/process_sandbox.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "common/strings.h"

namespace wasimoff::engine {

namespace fs = std::filesystem;

fs::path resolve_program(const std::string& program) {
  fs::path found;
  if (program.find('/') != std::string::npos) {
    found = program;
  } else {
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
    for (std::string_view dir : split(dirs, ':')) {
      fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
      if (access(candidate.c_str(), X_OK) == 0) {
        found = candidate;
        break;
      }
    }
    if (found.empty()) throw std::runtime_error(program + ": not found in PATH");
  }
  std::error_code ec;
  fs::path resolved = fs::canonical(found, ec);
  if (ec) throw std::runtime_error(found.string() + ": " + ec.message());
  if (access(resolved.c_str(), X_OK) != 0)
    throw std::runtime_error(resolved.string() + ": not executable");
  return resolved;
}

ProcessSandbox::ProcessSandbox(SandboxOptions options) : options_(std::move(options)) {
  if (!enabled()) return;
  try {
    bwrap_path_ = resolve_program(options_.bwrap).string();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format(
        "the sandbox needs bubblewrap ({}); install the Debian package bubblewrap", e.what()));
  }
  if (geteuid() == 0) {
    passwd pw{};
    passwd* result = nullptr;
    std::string buf(16384, '\0');
    getpwnam_r(options_.user.c_str(), &pw, buf.data(), buf.size(), &result);
    if (!result)
      throw std::runtime_error(fmt::format(
          "sandbox user \"{}\" does not exist; create it or choose another with --sandbox-user",
          escape_untrusted(options_.user, 64)));
    if (pw.pw_uid == 0) throw std::runtime_error("the sandbox user must not be root (uid 0)");
    credentials_ = std::make_pair(pw.pw_uid, pw.pw_gid);
    user_name_ = options_.user;
  }
}

std::string ProcessSandbox::describe() const {
  if (!enabled()) return "none (compilers and workers run as this user, without namespaces)";
  if (!credentials_) return fmt::format("bubblewrap ({})", bwrap_path_);
  return fmt::format("bubblewrap ({}) as {} ({}:{})", bwrap_path_, user_name_, credentials_->first,
                     credentials_->second);
}

SpawnOptions ProcessSandbox::wrap(SpawnOptions spawn, const std::vector<SandboxMount>& mounts,
                                  const std::string& cwd_inside) const {
  spawn.env = std::vector<std::string>{"PATH=/usr/bin:/bin"};
  if (!enabled()) return spawn;
  std::vector<std::string> argv = {bwrap_path_,     "--unshare-all", "--die-with-parent",
                                   "--new-session", "--cap-drop",    "ALL",
                                   "--ro-bind",     "/usr",          "/usr"};
  // The top-level directories programs and the dynamic loader expect, as on the host: symlinks
  // into /usr on merged-/usr systems (Debian 12), read-only copies of real directories otherwise.
  for (const char* dir : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    auto st = fs::symlink_status(dir, ec);
    if (ec) continue;
    if (fs::is_symlink(st)) {
      fs::path target = fs::read_symlink(dir, ec);
      if (ec) continue;
      argv.insert(argv.end(), {"--symlink", target.string(), dir});
    } else if (fs::is_directory(st)) {
      argv.insert(argv.end(), {"--ro-bind", dir, dir});
    }
  }
  // A small /tmp: it is memory. Programs are pointed at their working directory for temporary
  // files (TMPDIR) where that matters.
  argv.insert(argv.end(), {"--proc", "/proc", "--dev", "/dev", "--size", std::to_string(16 << 20),
                           "--tmpfs", "/tmp"});
  for (const SandboxMount& m : mounts) {
    argv.push_back(m.writable ? "--bind" : "--ro-bind");
    argv.push_back(m.host.string());
    argv.push_back(m.inside);
  }
  if (!cwd_inside.empty()) {
    argv.push_back("--chdir");
    argv.push_back(cwd_inside);
  }
  argv.push_back("--");
  for (std::string& a : spawn.argv) argv.push_back(std::move(a));
  spawn.argv = std::move(argv);
  spawn.cwd.clear();
  spawn.credentials = credentials_;
  return spawn;
}

ExitStatus ProcessSandbox::unwrap_status(ExitStatus status) const {
  if (enabled() && !status.signaled && status.code > 128 && status.code < 128 + 65) {
    status.signaled = true;
    status.code -= 128;
  }
  return status;
}

boost::asio::awaitable<void> ProcessSandbox::probe() const {
  if (!enabled()) co_return;
  SpawnOptions s;
  s.argv = {"/usr/bin/true"};
  s.inherit_stderr = false;
  s.parent_death_signal = SIGKILL;
  SpawnOptions wrapped = wrap(std::move(s), {}, "/");
  ProcessResult r = co_await run_process(std::move(wrapped), std::chrono::seconds(30));
  if (r.timed_out) throw std::runtime_error("the sandbox (bubblewrap) did not start within 30 s");
  if (!r.status.success()) {
    std::string why(trim(r.output));
    throw std::runtime_error(fmt::format(
        "the sandbox (bubblewrap{}) does not work on this host: {}{}",
        credentials_ ? " as " + user_name_ : std::string(),
        why.empty() ? r.status.describe() : escape_untrusted(why, 300),
        " (bubblewrap needs unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1"
        " and user.max_user_namespaces > 0)"));
  }
}

}  // namespace wasimoff::engine
