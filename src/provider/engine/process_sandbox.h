// How the native provider confines the processes it starts for untrusted work: the tools that
// compile a client's module (wasm-validate, wasm2c, cc) and the workers that run compiled code
// (docs/security.md, "The compiler sandbox" and "Worker processes").
//
// Mode kBubblewrap (the default) starts each of them through bubblewrap (`bwrap`, Debian package
// `bubblewrap`):
//   * new user, mount, PID, IPC, UTS, cgroup and network namespaces: no network at all, no view
//     of other processes, no capabilities (--cap-drop ALL), no nested user namespaces
//     (--disable-userns), a new session (no terminal);
//   * a private root with only /usr read-only (plus /lib, /lib64, /bin as on the host), a
//     minimal /dev, a private /proc, an empty 16 MiB /tmp, and whatever the caller mounts (a
//     scratch directory read-write at /work); no other host file;
//   * an empty environment (PATH=/usr/bin:/bin), and the process dies with the provider;
//   * when the provider runs as root, as an unprivileged user (`--sandbox-user`, default
//     `nobody`) with no supplementary groups: bwrap is started with that uid and creates its
//     namespaces as that user.
// Mode kNone runs the same programs directly as the provider's user (workers still harden
// themselves with rlimits and seccomp). It exists for hosts without user namespaces and is
// logged as unsafe.
//
// A program inside the sandbox sees host paths only through the mounts, so argv must use the
// inside paths; programs outside /usr cannot run sandboxed unless mounted explicitly.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "provider/engine/child_process.h"

namespace wasimoff::engine {

struct SandboxOptions {
  enum class Mode { kBubblewrap, kNone };
  Mode mode = Mode::kBubblewrap;
  std::string bwrap = "bwrap";
  // The user sandboxed processes run as when the provider is root (ignored otherwise).
  std::string user = "nobody";
};

struct SandboxMount {
  std::filesystem::path host;  // absolute
  std::string inside;          // absolute path inside the sandbox
  bool writable = false;
};

class ProcessSandbox {
 public:
  // Resolves the bwrap executable and the sandbox user. Throws std::runtime_error with a reason
  // that tells the operator what to do (install bubblewrap, create the user, or choose kNone).
  explicit ProcessSandbox(SandboxOptions options = {});

  bool enabled() const { return options_.mode == SandboxOptions::Mode::kBubblewrap; }
  // For the startup log, e.g. "bubblewrap (/usr/bin/bwrap) as nobody (65534:65534)".
  std::string describe() const;
  // The uid and gid sandboxed processes run as, when they differ from ours.
  const std::optional<std::pair<uid_t, gid_t>>& credentials() const { return credentials_; }

  // Returns `spawn` rewritten to run confined: its argv is prefixed with bwrap and the mounts,
  // its working directory becomes `cwd_inside`, its environment is emptied. `spawn.argv[0]` must
  // be an absolute path visible inside (under /usr or one of `mounts`). rlimits, fds and the
  // parent-death signal are kept (bwrap passes open fds on). In kNone mode `spawn` is returned
  // unchanged except for the environment.
  SpawnOptions wrap(SpawnOptions spawn, const std::vector<SandboxMount>& mounts,
                    const std::string& cwd_inside) const;

  // Starts `/usr/bin/true` confined and throws std::runtime_error with bwrap's own message when
  // that fails (no user namespaces, …). Call once at startup.
  boost::asio::awaitable<void> probe() const;

  // The exit status of a sandboxed program: bwrap exits with 128 + n when its child was killed by
  // signal n; this turns that back into `signaled`.
  ExitStatus unwrap_status(ExitStatus status) const;

 private:
  SandboxOptions options_;
  std::string bwrap_path_;
  std::optional<std::pair<uid_t, gid_t>> credentials_;
  std::string user_name_;
};

// The absolute path of `program` (looked up in PATH when it has no '/'), with symlinks resolved
// (e.g. /usr/bin/cc -> /usr/bin/x86_64-linux-gnu-gcc-12 through /etc/alternatives, which is not
// visible in the sandbox). Throws std::runtime_error when it cannot be found.
std::filesystem::path resolve_program(const std::string& program);

}  // namespace wasimoff::engine
