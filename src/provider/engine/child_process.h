// Child processes for the supervisor's event loop: compilers (engine/) and workers (pool/).
//
// spawn() is fork + exec with everything set up in the child before exec (fd layout, rlimits,
// process group, parent-death signal, environment). Exits are observed through a pidfd
// registered with the io_context, so waiting never blocks the loop and needs no SIGCHLD
// handler. Only the fork itself (and a pipe read that ends when exec succeeds) runs on the
// calling thread; both take well under a millisecond for a small supervisor.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wasimoff::engine {

namespace asio = boost::asio;

struct ExitStatus {
  bool signaled = false;
  int code = 0;  // exit status, or the signal number when `signaled`

  bool success() const { return !signaled && code == 0; }
  // "exit status 3" / "signal 9"
  std::string describe() const;
};

struct SpawnOptions {
  // argv[0] is the program; a name without '/' is looked up in PATH (of this process).
  std::vector<std::string> argv;
  // The child's environment; nullopt inherits ours.
  std::optional<std::vector<std::string>> env;
  std::string cwd;  // empty = ours
  // Child fd <- parent fd. Unmapped 0/1/2 are /dev/null, except 2 which is inherited when
  // `inherit_stderr`. Every other fd is closed in the child.
  std::vector<std::pair<int, int>> fds;
  bool inherit_stderr = true;
  // setrlimit(resource, value) for both soft and hard limits.
  std::vector<std::pair<int, std::uint64_t>> rlimits;
  // Switch to this uid and gid (with no supplementary groups) before exec; needs root. The
  // program is then executed through a descriptor opened by us (execveat), so the new user needs
  // no access to the directories on its path.
  std::optional<std::pair<uid_t, gid_t>> credentials;
  bool new_process_group = true;  // keeps terminal signals (Ctrl-C) away from children
  int parent_death_signal = 0;    // e.g. SIGKILL: the child dies with the supervisor
};

class ChildProcess {
 public:
  // Throws std::system_error (fork/pipe failures) or std::runtime_error ("cannot execute X: …").
  ChildProcess(asio::any_io_executor ex, const SpawnOptions& options);
  // Kills (SIGKILL) and reaps a child that has not been waited for. Reaping then blocks briefly;
  // normal paths await wait() instead.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() const { return status_.has_value(); }

  // Sends `sig` (via the pidfd, so never to a recycled pid). With `whole_group` the child's
  // process group gets it (compilers fork helpers). No-op after the child was reaped.
  void kill(int sig, bool whole_group = false);

  // Waits for the exit and reaps the child. Call from one coroutine at a time; afterwards it
  // returns the stored status at once. Cancellation (e.g. `||`) leaves the child running.
  asio::awaitable<ExitStatus> wait();

 private:
  pid_t pid_ = -1;
  bool group_ = false;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd_;
  std::optional<ExitStatus> status_;
};

struct ProcessResult {
  ExitStatus status;
  std::string output;  // stdout + stderr merged, at most max_output bytes (the rest is dropped)
  bool timed_out = false;
};

// Runs a program to completion: output captured through a pipe, killed (whole process group)
// after `timeout`. `options.fds` must not map 1 or 2.
asio::awaitable<ProcessResult> run_process(SpawnOptions options, std::chrono::milliseconds timeout,
                                           std::size_t max_output = 64 * 1024);

}  // namespace wasimoff::engine
