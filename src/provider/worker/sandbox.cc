#include "provider/worker/sandbox.h"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace wasimoff::worker {

namespace {

void check(int r, const char* what) {
  if (r != 0) throw std::system_error(errno, std::generic_category(), what);
}

void set_limit(int resource, std::uint64_t value, const char* what) {
  rlimit rl{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  check(setrlimit(resource, &rl), what);
}

}  // namespace

void harden_process(const HardeningOptions& o) {
  if (o.channel_fd < 3) throw std::invalid_argument("channel fd must be >= 3");
  if (o.channel_fd > 3)
    check(close_range(3, static_cast<unsigned>(o.channel_fd) - 1, 0), "close_range");
  check(close_range(static_cast<unsigned>(o.channel_fd) + 1, ~0u, 0), "close_range");
  check(clearenv(), "clearenv");
  check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
  check(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG");
#ifndef WASIMOFF_SANITIZED
  // Not dumpable: no other process of the same (sandbox) user may ptrace or inspect us.
  // (LeakSanitizer ptraces its own process at exit, so sanitizer builds keep the default.)
  check(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "PR_SET_DUMPABLE");
#endif
  if (o.parent_pid != 0 && getppid() != o.parent_pid)
    throw std::runtime_error("the supervisor exited before the worker started");
  set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
  set_limit(RLIMIT_NOFILE, o.max_open_files, "RLIMIT_NOFILE");
  if (o.data_limit != 0) set_limit(RLIMIT_DATA, o.data_limit, "RLIMIT_DATA");
}

void install_seccomp_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) throw std::runtime_error("seccomp_init failed");
  int rc = 0;
  auto allow = [&](int nr) {
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  };
  // The task loop: channel I/O (recvmsg for the attached descriptors), reading the attached files,
  // loading modules, memory, clocks, randomness, exit.
  for (int nr : {SCMP_SYS(read),
                 SCMP_SYS(recvmsg),
                 SCMP_SYS(write),
                 SCMP_SYS(readv),
                 SCMP_SYS(writev),
                 SCMP_SYS(pread64),
                 SCMP_SYS(close),
                 SCMP_SYS(fstat),
                 SCMP_SYS(newfstatat),
                 SCMP_SYS(statx),
                 SCMP_SYS(lseek),
                 SCMP_SYS(munmap),
                 SCMP_SYS(mremap),
                 SCMP_SYS(madvise),
                 SCMP_SYS(brk),
                 SCMP_SYS(rt_sigreturn),
                 SCMP_SYS(rt_sigprocmask),
                 SCMP_SYS(rt_sigaction),
                 SCMP_SYS(sigaltstack),
                 SCMP_SYS(exit),
                 SCMP_SYS(exit_group),
                 SCMP_SYS(futex),
                 SCMP_SYS(getrandom),
                 SCMP_SYS(clock_gettime),
                 SCMP_SYS(clock_getres),
                 SCMP_SYS(clock_nanosleep),
                 SCMP_SYS(nanosleep),
                 SCMP_SYS(sched_yield),
                 SCMP_SYS(getpid),
                 SCMP_SYS(gettid),
                 SCMP_SYS(getrusage),
                 SCMP_SYS(sysinfo)})
    allow(nr);
  // abort() signals itself; nothing else may be signalled.
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                          SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(getpid())));
  // Memory may be writable or executable, never both (dlopen maps code read+exec).
  for (int nr : {SCMP_SYS(mmap), SCMP_SYS(mprotect)}) {
    for (scmp_datum_t prot : {scmp_datum_t{0}, scmp_datum_t{PROT_WRITE}, scmp_datum_t{PROT_EXEC}}) {
      if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, prot));
    }
  }
  // Files only for reading: dlopen() of an attached module through /proc/self/fd/<n>.
  scmp_datum_t write_flags = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY);
  if (rc == 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, write_flags, O_RDONLY));
  if (rc == 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0)
    throw std::runtime_error("cannot install the seccomp filter: " + std::string(strerror(-rc)));
}

}  // namespace wasimoff::worker
