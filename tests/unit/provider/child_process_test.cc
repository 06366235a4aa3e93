#include "provider/engine/child_process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "run_sync.h"

namespace wasimoff::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Runs one coroutine to completion on a fresh io_context.
template <typename T>
T run(asio::awaitable<T> work) {
  return wasimoff::testing::run_sync(std::move(work));
}

SpawnOptions shell(std::string script) {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", std::move(script)};
  return o;
}

TEST(ChildProcess, CapturesOutputAndExitStatus) {
  ProcessResult r =
      run(run_process(shell("echo out; echo err >&2; exit 3"), std::chrono::seconds(30)));
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.status.signaled);
  EXPECT_EQ(r.status.code, 3);
  EXPECT_EQ(r.status.describe(), "exit status 3");
  EXPECT_THAT(r.output, HasSubstr("out\n"));
  EXPECT_THAT(r.output, HasSubstr("err\n"));
}

TEST(ChildProcess, ReportsDeathBySignal) {
  ProcessResult r = run(run_process(shell("kill -9 $$"), std::chrono::seconds(30)));
  EXPECT_TRUE(r.status.signaled);
  EXPECT_EQ(r.status.code, SIGKILL);
  EXPECT_EQ(r.status.describe(), "signal 9");
}

TEST(ChildProcess, TimeoutKillsTheWholeProcessGroup) {
  // The shell starts a grandchild that would keep the output pipe open; killing only the shell
  // would leave run_process waiting for EOF.
  ProcessResult r = run(run_process(shell("sleep 60 & sleep 60"), std::chrono::milliseconds(200)));
  EXPECT_TRUE(r.timed_out);
  EXPECT_TRUE(r.status.signaled);
}

TEST(ChildProcess, OutputIsBounded) {
  ProcessResult r =
      run(run_process(shell("head -c 100000 /dev/zero"), std::chrono::seconds(30), 1000));
  EXPECT_EQ(r.status.code, 0);
  EXPECT_EQ(r.output.size(), 1000u);
}

TEST(ChildProcess, EnvironmentIsReplacedWhenGiven) {
  setenv("WASIMOFF_TEST_LEAK", "leaked", 1);
  SpawnOptions o = shell("echo \"A=$A LEAK=$WASIMOFF_TEST_LEAK\"");
  o.env = std::vector<std::string>{"A=1"};
  ProcessResult r = run(run_process(o, std::chrono::seconds(30)));
  EXPECT_EQ(r.output, "A=1 LEAK=\n");
  ProcessResult inherited =
      run(run_process(shell("echo $WASIMOFF_TEST_LEAK"), std::chrono::seconds(30)));
  EXPECT_EQ(inherited.output, "leaked\n");
}

TEST(ChildProcess, MapsRequestedFdsAndClosesAllOthers) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int stray = open("/dev/null", O_RDONLY);  // not close-on-exec: must still not leak
  ASSERT_GE(stray, 0);
  SpawnOptions o = shell("echo via3 >&3; ls /proc/self/fd");
  o.fds = {{3, p[1]}};
  ProcessResult r = run(run_process(o, std::chrono::seconds(30)));
  close(p[1]);
  char buf[64] = {};
  ASSERT_GT(read(p[0], buf, sizeof buf - 1), 0);
  close(p[0]);
  EXPECT_STREQ(buf, "via3\n");
  EXPECT_THAT(r.output, Not(HasSubstr("\n" + std::to_string(stray) + "\n")));
  close(stray);
}

TEST(ChildProcess, AppliesResourceLimitsAndWorkingDirectory) {
  SpawnOptions o = shell("ulimit -n; ulimit -c; pwd");
  o.rlimits = {{RLIMIT_NOFILE, 33}, {RLIMIT_CORE, 0}};
  o.cwd = "/tmp";
  ProcessResult r = run(run_process(o, std::chrono::seconds(30)));
  EXPECT_EQ(r.output, "33\n0\n/tmp\n");
}

TEST(ChildProcess, ExecFailureIsAnErrorWithThePath) {
  SpawnOptions o;
  o.argv = {"/nonexistent/program"};
  try {
    run(run_process(o, std::chrono::seconds(30)));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot execute /nonexistent/program"));
  }
  o.argv = {"surely-not-a-program-on-path"};
  EXPECT_THROW(run(run_process(o, std::chrono::seconds(30))), std::runtime_error);
}

TEST(ChildProcess, KillAndWaitOnALongRunningChild) {
  asio::io_context ioc;
  SpawnOptions o = shell("sleep 60");
  auto child = std::make_unique<ChildProcess>(ioc.get_executor(), o);
  EXPECT_GT(child->pid(), 0);
  std::optional<ExitStatus> status;
  asio::co_spawn(ioc, child->wait(), [&](std::exception_ptr, ExitStatus s) { status = s; });
  child->kill(SIGTERM);
  ioc.run();
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->signaled);
  EXPECT_EQ(status->code, SIGTERM);
  EXPECT_TRUE(child->exited());
  child->kill(SIGKILL);  // no-op after the reap
}

TEST(ChildProcess, DestructorKillsAndReapsAnUnwaitedChild) {
  asio::io_context ioc;
  pid_t pid;
  {
    ChildProcess child(ioc.get_executor(), shell("sleep 60"));
    pid = child.pid();
  }
  EXPECT_EQ(::kill(pid, 0), -1) << "the child is gone (and reaped: no zombie keeps the pid)";
}

}  // namespace
}  // namespace wasimoff::engine
