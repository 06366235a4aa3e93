#include "provider/engine/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

extern "C" {
#include <sys/pidfd.h>  // glibc 2.36 declares these without C linkage for C++
}

extern char** environ;

namespace wasimoff::engine {

namespace {

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error("cannot execute " + name + ": not found in PATH");
}

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// The child between fork and exec: only async-signal-safe calls, no allocation.
[[noreturn]] void child_main(const char* path, char* const* argv, char* const* envp,
                             const char* cwd, const std::pair<int, int>* fds, std::size_t nfds,
                             const std::pair<int, std::uint64_t>* limits, std::size_t nlimits,
                             const std::pair<uid_t, gid_t>* credentials, int exec_fd,
                             bool new_group, int death_signal, pid_t parent, int err_fd) {
  auto fail = [&](int e) {
    ssize_t ignored = ::write(err_fd, &e, sizeof e);
    (void)ignored;
    _exit(127);
  };
  if (new_group && setpgid(0, 0) != 0) fail(errno);
  int max_target = 2;
  for (std::size_t i = 0; i < nfds; ++i) max_target = std::max(max_target, fds[i].first);
  // Keep the error pipe above every target, then lift all sources above too, so that placing
  // one target never clobbers another's source.
  int err_hi = fcntl(err_fd, F_DUPFD_CLOEXEC, max_target + 1);
  if (err_hi < 0) fail(errno);
  err_fd = err_hi;
  if (exec_fd >= 0) {
    exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, max_target + 1);
    if (exec_fd < 0) fail(errno);
  }
  int lifted[64];
  if (nfds > 64) fail(EMFILE);
  for (std::size_t i = 0; i < nfds; ++i) {
    lifted[i] = fcntl(fds[i].second, F_DUPFD_CLOEXEC, max_target + 1);
    if (lifted[i] < 0) fail(errno);
  }
  for (int fd = 0; fd <= max_target; ++fd) {
    bool mapped = false;
    for (std::size_t i = 0; i < nfds; ++i) mapped |= fds[i].first == fd;
    if (!mapped) ::close(fd);
  }
  for (std::size_t i = 0; i < nfds; ++i)
    if (dup2(lifted[i], fds[i].first) < 0) fail(errno);  // dup2 clears close-on-exec
  // Everything above the targets (lifted copies, the error pipe, stray fds) closes on exec.
  if (close_range(static_cast<unsigned>(max_target) + 1, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = max_target + 1; fd < 4096; ++fd)
      if (fd != err_fd) ::close(fd);
  }
  for (std::size_t i = 0; i < nlimits; ++i) {
    rlimit rl{static_cast<rlim_t>(limits[i].second), static_cast<rlim_t>(limits[i].second)};
    if (setrlimit(limits[i].first, &rl) != 0) fail(errno);
  }
  if (credentials) {
    // Raw system calls: the glibc wrappers synchronise credentials across threads, which is
    // neither needed nor safe between fork and exec.
    if (syscall(SYS_setgroups, 0, nullptr) != 0) fail(errno);
    if (syscall(SYS_setresgid, credentials->second, credentials->second, credentials->second) != 0)
      fail(errno);
    if (syscall(SYS_setresuid, credentials->first, credentials->first, credentials->first) != 0)
      fail(errno);
  }
  // After the credential change, which clears the parent-death signal.
  if (death_signal != 0) {
    if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) fail(errno);
    if (getppid() != parent) _exit(127);
  }
  if (cwd && chdir(cwd) != 0) fail(errno);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < 32; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  if (exec_fd >= 0)
    syscall(SYS_execveat, exec_fd, "", argv, envp, AT_EMPTY_PATH);
  else
    execve(path, argv, envp);
  fail(errno);
  _exit(127);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signaled) return "signal " + std::to_string(code);
  if (code < 0) return "unknown exit status";
  return "exit status " + std::to_string(code);
}

ChildProcess::ChildProcess(asio::any_io_executor ex, const SpawnOptions& o) {
  if (o.argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  std::string path = find_program(o.argv[0]);
  std::vector<char*> argv;
  for (const std::string& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (o.env) {
    for (const std::string& e : *o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  // With other credentials the program is executed through a descriptor opened now, as us: the
  // new user may not be allowed to traverse the directories on its path (e.g. /root).
  Fd exec_file(o.credentials ? ::open(path.c_str(), O_PATH | O_CLOEXEC) : -1);
  if (o.credentials && exec_file.fd < 0)
    throw std::runtime_error("cannot execute " + path + ": " + std::strerror(errno));
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.fd < 0) throw std::system_error(errno, std::generic_category(), "open /dev/null");
  std::vector<std::pair<int, int>> fds = o.fds;
  auto mapped = [&](int target) {
    for (auto& [t, s] : fds)
      if (t == target) return true;
    return false;
  };
  if (!mapped(0)) fds.emplace_back(0, devnull.fd);
  if (!mapped(1)) fds.emplace_back(1, devnull.fd);
  if (!mapped(2)) fds.emplace_back(2, o.inherit_stderr ? 2 : devnull.fd);

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    child_main(path.c_str(), argv.data(), o.env ? envp.data() : environ,
               o.cwd.empty() ? nullptr : o.cwd.c_str(), fds.data(), fds.size(), o.rlimits.data(),
               o.rlimits.size(), o.credentials ? &*o.credentials : nullptr, exec_file.fd,
               o.new_process_group, o.parent_death_signal, parent, err_w.fd);
  }
  ::close(err_w.release());
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_r.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("cannot execute " + path + ": " + std::strerror(child_errno));
  }
  pid_ = pid;
  group_ = o.new_process_group;
  int pfd = pidfd_open(pid, 0);
  if (pfd < 0) {
    int e = errno;
    ::kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::system_error(e, std::generic_category(), "pidfd_open (Linux 5.3 or newer required)");
  }
  pidfd_ = std::make_unique<asio::posix::stream_descriptor>(ex, pfd);
}

ChildProcess::~ChildProcess() {
  if (status_ || pid_ <= 0 || !pidfd_) return;
  int fd = pidfd_->native_handle();
  if (group_) ::kill(-pid_, SIGKILL);
  pidfd_send_signal(fd, SIGKILL, nullptr, 0);
  // By pid, not through the pidfd: Asio made the pidfd non-blocking, and waitid() on a
  // non-blocking pidfd fails with EAGAIN while the child is still dying (leaving a zombie). The
  // pid cannot have been reused: the child is not reaped yet.
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED) < 0 && errno == EINTR) {
  }
}

void ChildProcess::kill(int sig, bool whole_group) {
  if (status_ || !pidfd_) return;
  if (whole_group) {
    ::kill(-pid_, sig);  // the leader is not reaped yet, so the group id cannot be recycled
  }
  pidfd_send_signal(pidfd_->native_handle(), sig, nullptr, 0);
}

asio::awaitable<ExitStatus> ChildProcess::wait() {
  if (status_) co_return *status_;
  co_await pidfd_->async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable);
  siginfo_t info{};
  int r;
  do {
    r = waitid(P_PIDFD, static_cast<id_t>(pidfd_->native_handle()), &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  ExitStatus st;
  if (r < 0) {
    st.code = -1;  // reaped elsewhere (SIGCHLD ignored?)
  } else if (info.si_code == CLD_EXITED) {
    st.code = info.si_status;
  } else {
    st.signaled = true;
    st.code = info.si_status;
  }
  status_ = st;
  boost::system::error_code ignored;
  pidfd_->close(ignored);
  co_return st;
}

asio::awaitable<ProcessResult> run_process(SpawnOptions options, std::chrono::milliseconds timeout,
                                           std::size_t max_output) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  Fd read_end(p[0]), write_end(p[1]);
  options.fds.emplace_back(1, write_end.fd);
  options.fds.emplace_back(2, write_end.fd);
  ChildProcess child(ex, options);
  ::close(write_end.release());
  asio::posix::stream_descriptor out(ex, read_end.release());

  ProcessResult result;
  auto reader = [&]() -> asio::awaitable<void> {
    char buf[8192];
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = co_await out.async_read_some(asio::buffer(buf),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      std::size_t keep = std::min(n, max_output - std::min(max_output, result.output.size()));
      result.output.append(buf, keep);
    }
  };
  asio::steady_timer timer(ex, timeout);
  auto outcome = co_await ((reader() && child.wait()) || timer.async_wait(asio::use_awaitable));
  if (outcome.index() == 0) {
    result.status = std::get<0>(outcome);
  } else {
    result.timed_out = true;
    child.kill(SIGKILL, options.new_process_group);
    result.status = co_await child.wait();
  }
  co_return result;
}

}  // namespace wasimoff::engine
