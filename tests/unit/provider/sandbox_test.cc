// The worker's hardening, verified in forked children: a forbidden system call really kills the
// process, and the allowed ones really work.
#include "provider/worker/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace wasimoff::worker {
namespace {

// Leaves the child without running exit handlers or sanitizer hooks (which make syscalls the
// filter forbids).
[[noreturn]] void quit(int code) {
  syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

// Forks, runs `body` in the child, returns the raw wait status.
template <typename Body>
int in_child(Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    body();
    quit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

bool killed_by_sigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

void filtered() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) quit(90);
  try {
    install_seccomp_filter();
  } catch (...) {
    quit(91);
  }
}

TEST(Sandbox, AllowedCallsWorkUnderTheFilter) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int status = in_child([&] {
    filtered();
    char buf[16];
    if (write(p[1], "ok", 2) != 2) quit(1);
    void* m = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) quit(2);
    if (mprotect(m, 4096, PROT_READ) != 0) quit(3);
    if (munmap(m, 1 << 20) != 0) quit(4);
    if (getrandom(buf, sizeof buf, 0) != sizeof buf) quit(5);
    timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) quit(6);
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);  // read-only opens (dlopen)
    if (fd < 0) quit(7);
    if (read(fd, buf, sizeof buf) <= 0) quit(8);
    close(fd);
    void* big = malloc(10 << 20);  // the allocator's mmap path
    if (!big) quit(9);
    free(big);
  });
  close(p[1]);
  char buf[4] = {};
  EXPECT_EQ(read(p[0], buf, 2), 2);
  close(p[0]);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Sandbox, NetworkingIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    quit(1);
  })));
}

TEST(Sandbox, ExecIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    syscall(SYS_execve, "/bin/true", argv, nullptr);
    quit(1);
  })));
}

TEST(Sandbox, ForkIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    quit(1);
  })));
}

TEST(Sandbox, OpeningFilesForWritingIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_openat, AT_FDCWD, "/tmp/wasimoff-sandbox-test", O_WRONLY | O_CREAT, 0600);
    quit(1);
  })));
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_openat, AT_FDCWD, "/proc/self/statm", O_RDWR);
    quit(1);
  })));
}

TEST(Sandbox, WritableExecutableMemoryIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    quit(1);
  })));
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_mprotect, m, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    quit(1);
  })));
}

TEST(Sandbox, SignallingOthersIsKilled) {
  EXPECT_TRUE(killed_by_sigsys(in_child([] {
    filtered();
    syscall(SYS_kill, getppid(), 0);
    quit(1);
  })));
}

TEST(Sandbox, HardenProcessSetsLimitsClosesFdsAndClearsEnvironment) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t parent = getpid();
  int status = in_child([&] {
    if (dup2(p[1], 7) != 7) quit(10);
    int stray = open("/dev/null", O_RDONLY);
    if (stray < 0 || stray == 7) quit(11);
    setenv("SECRET", "x", 1);
    HardeningOptions o;
    o.channel_fd = 7;
#ifndef WASIMOFF_SANITIZED
    o.data_limit = 1ull << 30;  // sanitizer runtimes map terabytes of shadow memory
#endif
    o.max_open_files = 32;
    o.parent_pid = parent;
    try {
      harden_process(o);
    } catch (...) {
      quit(12);
    }
    if (fcntl(stray, F_GETFD) != -1) quit(13);  // closed
    if (fcntl(p[0], F_GETFD) != -1 && p[0] != 7) quit(14);
    if (fcntl(7, F_GETFD) == -1) quit(15);  // the channel survives
    if (getenv("SECRET") != nullptr) quit(16);
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) quit(17);
    rlimit rl;
    getrlimit(RLIMIT_CORE, &rl);
    if (rl.rlim_cur != 0) quit(18);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != 32) quit(19);
#ifndef WASIMOFF_SANITIZED
    getrlimit(RLIMIT_DATA, &rl);
    if (rl.rlim_cur != (1ull << 30)) quit(20);
#endif
    getrlimit(RLIMIT_AS, &rl);
    if (rl.rlim_cur != RLIM_INFINITY) quit(21);  // never limited: wasm2c reserves 8 GiB
    if (write(7, "k", 1) != 1) quit(22);
  });
  close(p[1]);
  char c = 0;
  EXPECT_EQ(read(p[0], &c, 1), 1);
  close(p[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace wasimoff::worker
