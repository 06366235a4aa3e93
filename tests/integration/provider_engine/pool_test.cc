// Tasks through real sandboxed workers: results, limits, failures, and that the pool always
// keeps serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <fstream>
#include <sstream>

#include "common/zip_archive.h"
#include "engine_harness.h"
#include "zip_builder.h"

namespace wasimoff::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The pool still works: the reference module runs and prints its greeting.
void expect_serves(EngineHarness& h) {
  auto r = h.run("hello");
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 7);
  EXPECT_EQ(r.ok().stdout(), "hello from WAT\n");
}

std::string rootfs(std::initializer_list<std::pair<std::string, std::string>> files) {
  ZipWriter w;
  for (const auto& [name, data] : files) {
    if (!name.empty() && name.back() == '/')
      w.add_directory(name, 1700000000);
    else
      w.add_file(name, data, 1700000000);
  }
  return w.finish();
}

// A run() in the background; result() drives the loop until it is done.
class Background {
 public:
  Background(EngineHarness& h, pool::TaskRun task, pool::CancelToken* cancel) : h_(h) {
    asio::co_spawn(
        h.ioc, h.pool->run(std::move(task), cancel),
        [this](std::exception_ptr, v1::Task::Wasip1::Response r) { result_ = std::move(r); });
  }
  bool done() const { return result_.has_value(); }
  v1::Task::Wasip1::Response result() {
    while (!result_) h_.ioc.run_one();
    return *result_;
  }

 private:
  EngineHarness& h_;
  std::optional<v1::Task::Wasip1::Response> result_;
};

// Drives the loop until `pred` holds (bounded by the test timeout).
template <typename Pred>
void drive_until(EngineHarness& h, Pred pred) {
  while (!pred()) h.wait_for(std::chrono::milliseconds(5));
}

std::string proc_status(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Pool, ReferenceModulePrintsAndExitsWithSeven) {
  EngineHarness h;
  expect_serves(h);
}

TEST(Pool, ArgsEnvStdinAndFullExitStatus) {
  EngineHarness h;
  auto r = h.run(
      "cat", [](pool::TaskRun& t) { t.params.set_stdin(std::string("line 1\nline 2\0x", 15)); });
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 0);
  EXPECT_EQ(r.ok().stdout(), std::string("line 1\nline 2\0x", 15));
  EXPECT_FALSE(r.ok().has_artifacts()) << "no artifacts requested, none returned";
  auto neg = h.run("exit_negative");
  ASSERT_TRUE(neg.has_ok()) << EngineHarness::show(neg);
  EXPECT_EQ(neg.ok().status(), -2);
  auto noop = h.run("noop");
  ASSERT_TRUE(noop.has_ok());
  EXPECT_EQ(noop.ok().status(), 0);
}

TEST(Pool, RootfsFilesAreReadableAndNothingOutsideIs) {
  EngineHarness h;
  TempDir dir;
  fs::path zip_path = dir.path() / "rootfs.zip";
  std::ofstream(zip_path, std::ios::binary)
      << rootfs({{"data/", ""}, {"data/file.txt", "rootfs content"}});
  auto open = [&](std::string path, bool inline_zip) {
    return h.run("open_path", [&](pool::TaskRun& t) {
      t.params.add_args(path);
      if (inline_zip)
        t.rootfs_zip = read_file(zip_path);
      else
        t.rootfs_path = zip_path;
    });
  };
  for (bool inline_zip : {false, true}) {
    auto ok = open("data/file.txt", inline_zip);
    ASSERT_TRUE(ok.has_ok()) << EngineHarness::show(ok);
    EXPECT_EQ(ok.ok().status(), 0);
    EXPECT_EQ(ok.ok().stdout(), "rootfs content");
  }
  // Escapes: every one is NOTCAPABLE (76) and nothing of the host's file comes back.
  for (const char* path : {"../etc/passwd", "data/../../etc/passwd", "/etc/passwd", "..",
                           "data/../../../../../../etc/passwd"}) {
    auto r = open(path, false);
    ASSERT_TRUE(r.has_ok()) << path << ": " << EngineHarness::show(r);
    EXPECT_EQ(r.ok().status(), 76) << path;
    EXPECT_THAT(r.ok().stdout(), Not(HasSubstr("root:"))) << path;
  }
  auto missing = open("data/missing.txt", false);
  ASSERT_TRUE(missing.has_ok());
  EXPECT_EQ(missing.ok().status(), 44);  // NOENT
  // Without a rootfs the root is empty.
  auto empty = h.run("open_path", [](pool::TaskRun& t) { t.params.add_args("data/file.txt"); });
  ASSERT_TRUE(empty.has_ok());
  EXPECT_EQ(empty.ok().status(), 44);
}

TEST(Pool, HostileRootfsArchivesAreRejected) {
  EngineHarness h;
  auto with = [&](std::string zip) {
    return h.run("open_path", [&](pool::TaskRun& t) {
      t.params.add_args("x");
      t.rootfs_zip = zip;
    });
  };
  ziptest::RawZip dotdot;
  dotdot.add({.name = "../escape.txt", .data = "x"});
  auto r1 = with(dotdot.bytes());
  ASSERT_TRUE(r1.has_error());
  EXPECT_EQ(r1.error(), "rootfs: entry \"../escape.txt\" has a \"..\" segment");

  ziptest::RawZip link;
  link.add({.name = "passwd", .data = "/etc/passwd", .unix_mode = 0120777});
  auto r2 = with(link.bytes());
  ASSERT_TRUE(r2.has_error());
  EXPECT_EQ(r2.error(), "rootfs: entry \"passwd\" is a symbolic link");

  ziptest::RawZip absolute;
  absolute.add({.name = "/etc/cron.d/x", .data = "x"});
  auto r3 = with(absolute.bytes());
  ASSERT_TRUE(r3.has_error());
  EXPECT_THAT(r3.error(), StartsWith("rootfs: "));

  auto r4 = with("this is not a zip archive at all");
  ASSERT_TRUE(r4.has_error());
  EXPECT_THAT(r4.error(), StartsWith("rootfs: not a ZIP archive"));
  expect_serves(h);
}

TEST(Pool, RootfsLargerThanTheFilesystemLimitIsRejected) {
  pool::PoolOptions o = default_pool_options();
  o.fs_limit = 1 << 20;
  EngineHarness h(o);
  std::string zip = rootfs({{"big.bin", std::string(2 << 20, 'x')}});
  auto r = h.run("noop", [&](pool::TaskRun& t) { t.rootfs_zip = zip; });
  ASSERT_TRUE(r.has_error());
  EXPECT_THAT(r.error(), StartsWith("rootfs: expanded size exceeds"));
}

TEST(Pool, ArtifactsComeBackAsAZip) {
  EngineHarness h;
  auto r = h.run("write_files", [](pool::TaskRun& t) {
    for (const char* a : {"out.txt", "/dir", "missing.txt", "../../etc"}) t.params.add_artifacts(a);
  });
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 0);
  ASSERT_TRUE(r.ok().has_artifacts());
  EXPECT_EQ(r.ok().artifacts().media(), "application/zip");
  std::vector<std::string> names;
  std::map<std::string, std::string> files;
  for (auto& e : read_zip(r.ok().artifacts().blob())) {
    names.push_back(e.name + (e.is_directory ? "/" : ""));
    if (!e.is_directory) files[e.name] = e.data;
  }
  EXPECT_THAT(names, ElementsAre("out.txt", "dir/", "dir/inner.txt"));
  EXPECT_EQ(files["out.txt"], "artifact data\n");
  EXPECT_EQ(files["dir/inner.txt"], "inner\n");
}

TEST(Pool, TrapsHaveTheSpecTexts) {
  EngineHarness h;
  auto unreachable = h.run("trap_unreachable");
  ASSERT_TRUE(unreachable.has_error());
  // The stderr tail is appended after a newline.
  EXPECT_EQ(unreachable.error(), "trap: unreachable executed\nabout to abort\n");
  auto oob = h.run("trap_oob");
  ASSERT_TRUE(oob.has_error());
  EXPECT_EQ(oob.error(), "trap: out of bounds memory access");
  auto div = h.run("trap_div0");
  ASSERT_TRUE(div.has_error());
  EXPECT_EQ(div.error(), "trap: integer divide by zero");
  auto stack = h.run("trap_stack");
  ASSERT_TRUE(stack.has_error());
  EXPECT_EQ(stack.error(), "trap: call stack exhausted");
  expect_serves(h);
}

TEST(Pool, MemoryLimit) {
  pool::PoolOptions o = default_pool_options();
  o.memory_limit = 32 << 20;
  EngineHarness h(o);
  auto big = h.run("big_initial");  // 125 MiB initial memory
  ASSERT_TRUE(big.has_error());
  EXPECT_EQ(big.error(), "memory limit exceeded");
  auto grow = h.run("grow");  // memory.grow by 64 MiB fails cleanly
  ASSERT_TRUE(grow.has_ok()) << EngineHarness::show(grow);
  EXPECT_EQ(grow.ok().status(), 1);
  expect_serves(h);

  EngineHarness roomy;  // default 1 GiB
  auto grown = roomy.run("grow");
  ASSERT_TRUE(grown.has_ok()) << EngineHarness::show(grown);
  EXPECT_EQ(grown.ok().status(), 0);
  auto initial = roomy.run("big_initial");
  ASSERT_TRUE(initial.has_ok()) << EngineHarness::show(initial);
}

TEST(Pool, OutputLimit) {
  pool::PoolOptions o = default_pool_options();
  o.output_limit = 1 << 20;
  EngineHarness h(o);
  auto r = h.run("spam");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), "output too large");
  expect_serves(h);
}

TEST(Pool, TimeoutKillsAnEndlessLoop) {
  pool::PoolOptions o = default_pool_options();
  o.timeout = std::chrono::milliseconds(300);
  EngineHarness h(o);
  auto r = h.run("loop");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), "task timed out after 300ms");
  expect_serves(h);
}

TEST(Pool, DeadlineExceeded) {
  EngineHarness h;
  auto r = h.run("loop", [](pool::TaskRun& t) {
    t.deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(300);
  });
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), "deadline exceeded");
  auto past = h.run("hello", [](pool::TaskRun& t) {
    t.deadline = std::chrono::system_clock::now() - std::chrono::seconds(1);
  });
  ASSERT_TRUE(past.has_error());
  EXPECT_EQ(past.error(), "deadline exceeded");
  expect_serves(h);
}

TEST(Pool, CancellationMidRun) {
  EngineHarness h;
  pool::TaskRun task;
  task.module = h.compile("loop").path;
  v1::Task::Trace trace;
  task.trace = &trace;
  pool::CancelToken cancel(h.ioc.get_executor());
  Background bg(h, std::move(task), &cancel);
  // Wait until the worker has the task (event 33: posted to worker), then let it spin a bit.
  drive_until(h, [&] { return trace.events_size() >= 2; });
  h.wait_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(bg.done());
  EXPECT_EQ(h.pool->busy(), 1u);
  cancel.cancel("client gave up");
  auto r = bg.result();
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), "task canceled: client gave up");
  EXPECT_EQ(h.pool->busy(), 0u);
  // Cancelled before it started: answered without running.
  pool::CancelToken early(h.ioc.get_executor());
  early.cancel("too late");
  pool::TaskRun t2;
  t2.module = h.compile("hello").path;
  auto r2 = h.await(h.pool->run(std::move(t2), &early));
  EXPECT_EQ(r2.error(), "task canceled: too late");
  expect_serves(h);
}

TEST(Pool, WorkerCrashIsReportedAndTheWorkerReplaced) {
  EngineHarness h;
  expect_serves(h);
  for (int sig : {SIGKILL, SIGABRT}) {
    pool::TaskRun task;
    task.module = h.compile("loop").path;
    v1::Task::Trace trace;
    task.trace = &trace;
    Background bg(h, std::move(task), nullptr);
    drive_until(h, [&] { return trace.events_size() >= 2; });
    std::vector<pid_t> pids = h.pool->worker_pids();
    ASSERT_EQ(pids.size(), 1u);
    ::kill(pids[0], sig);
    auto r = bg.result();
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error(), "worker crashed: signal " + std::to_string(sig));
    expect_serves(h);
  }
  EXPECT_GE(h.pool->workers_started(), 3u);
}

TEST(Pool, CorruptCompiledModuleIsAnErrorAndTheWorkerSurvives) {
  EngineHarness h;
  TempDir dir;
  fs::path bogus = dir.path() / "corrupt.so";
  std::ofstream(bogus) << "\x7f"
                          "ELF but not really a shared object";
  pool::TaskRun task;
  task.module = bogus;
  auto r = h.await(h.pool->run(std::move(task)));
  ASSERT_TRUE(r.has_error());
  EXPECT_THAT(r.error(), StartsWith("unsupported module: cannot load compiled module"));
  expect_serves(h);
  EXPECT_EQ(h.pool->workers_started(), 1u) << "a load failure does not cost the worker";
}

TEST(Pool, MissingWorkerBinaryFailsTasksInsteadOfHanging) {
  pool::PoolOptions o = default_pool_options();
  o.worker_path = "/nonexistent/wasimoff-worker";
  EngineHarness h(o);
  pool::TaskRun task;
  task.module = h.compile("hello").path;
  auto r = h.await(h.pool->run(std::move(task)));
  ASSERT_TRUE(r.has_error());
  EXPECT_THAT(r.error(),
              StartsWith("no worker available: cannot execute /nonexistent/wasimoff-worker"));
}

TEST(Pool, IdleWorkerDeathIsRepairedAtOnce) {
  EngineHarness h;
  expect_serves(h);
  std::vector<pid_t> before = h.pool->worker_pids();
  ASSERT_EQ(before.size(), 1u);
  ::kill(before[0], SIGKILL);
  drive_until(h, [&] { return h.pool->idle() == 1 && h.pool->worker_pids() != before; });
  expect_serves(h);
}

TEST(Pool, ImmediateQosFailsWhenNoWorkerIsIdle) {
  EngineHarness h;
  pool::TaskRun task;
  task.module = h.compile("loop").path;
  pool::CancelToken cancel(h.ioc.get_executor());
  Background bg(h, std::move(task), &cancel);
  drive_until(h, [&] { return h.pool->busy() == 1; });
  auto r = h.run("hello", [](pool::TaskRun& t) { t.immediate = true; });
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), "qos: no idle workers for immediate mode");
  cancel.cancel("done");
  bg.result();
}

TEST(Pool, QueuedTasksWaitForAWorker) {
  pool::PoolOptions o = default_pool_options();
  o.workers = 2;
  EngineHarness h(o);
  std::string module = h.compile("hello").path;
  std::vector<std::unique_ptr<Background>> runs;
  for (int i = 0; i < 6; ++i) {
    pool::TaskRun t;
    t.module = module;
    runs.push_back(std::make_unique<Background>(h, std::move(t), nullptr));
  }
  for (auto& bg : runs) {
    auto r = bg->result();
    ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
    EXPECT_EQ(r.ok().stdout(), "hello from WAT\n");
  }
}

TEST(Pool, WorkersAreRecycledAfterKTasks) {
  pool::PoolOptions o = default_pool_options();
  o.recycle_after_tasks = 2;
  EngineHarness h(o);
  expect_serves(h);
  std::vector<pid_t> first = h.pool->worker_pids();
  expect_serves(h);  // second task: the worker retires afterwards
  expect_serves(h);
  EXPECT_NE(h.pool->worker_pids(), first);
  EXPECT_GE(h.pool->workers_started(), 2u);
}

TEST(Pool, AWorkerThatDroppedAModuleGetsItAgain) {
  // The module goes to a worker only until it has loaded it; a worker keeps a bounded number
  // loaded. With room for one, alternating modules makes the worker drop each in turn: the
  // supervisor must notice (module_missing) and attach it again, and every task still runs.
  pool::PoolOptions o = default_pool_options();
  o.max_loaded_modules = 1;
  EngineHarness h(o);
  pid_t worker = 0;
  for (int round = 0; round < 3; ++round) {
    auto cat = h.run("cat", [](pool::TaskRun& t) { t.params.set_stdin("round"); });
    ASSERT_TRUE(cat.has_ok()) << EngineHarness::show(cat);
    EXPECT_EQ(cat.ok().stdout(), "round");
    auto noop = h.run("noop");
    ASSERT_TRUE(noop.has_ok()) << EngineHarness::show(noop);
    auto again = h.run("noop");  // loaded: no module attached this time
    ASSERT_TRUE(again.has_ok()) << EngineHarness::show(again);
    ASSERT_EQ(h.pool->worker_pids().size(), 1u);
    if (round == 0) worker = h.pool->worker_pids()[0];
    EXPECT_EQ(h.pool->worker_pids()[0], worker) << "a missing module must not cost the worker";
  }
}

TEST(Pool, ResizeAndChangeNotifications) {
  EngineHarness h;
  std::vector<std::pair<std::size_t, std::size_t>> changes;
  h.pool->on_change([&](std::size_t size, std::size_t busy) { changes.emplace_back(size, busy); });
  expect_serves(h);
  EXPECT_THAT(changes, ::testing::IsSupersetOf({std::pair<std::size_t, std::size_t>{1, 1},
                                                std::pair<std::size_t, std::size_t>{1, 0}}));
  h.pool->resize(3);
  EXPECT_EQ(h.pool->size(), 3u);
  EXPECT_EQ(changes.back(), (std::pair<std::size_t, std::size_t>{3, 0}));
  drive_until(h, [&] { return h.pool->idle() == 3; });
  h.pool->resize(1);
  drive_until(h, [&] { return h.pool->worker_pids().size() == 1; });
  expect_serves(h);
}

TEST(Pool, TraceEventsInOrder) {
  EngineHarness h;
  v1::Task::Trace trace;
  auto r = h.run("hello", [&](pool::TaskRun& t) { t.trace = &trace; });
  ASSERT_TRUE(r.has_ok());
  std::vector<int> types;
  std::int64_t last = 0;
  for (const auto& e : trace.events()) {
    types.push_back(e.event());
    EXPECT_GE(e.unixnano(), last);
    last = e.unixnano();
  }
  EXPECT_THAT(types, ElementsAre(32, 33, 34, 35, 36));
}

TEST(Pool, WorkerIsHardened) {
  EngineHarness h;
  expect_serves(h);
  std::vector<pid_t> pids = h.pool->worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  std::string status = proc_status(pids[0]);
  EXPECT_THAT(status, HasSubstr("NoNewPrivs:\t1"));
#ifdef WASIMOFF_SANITIZED
  GTEST_SKIP() << "sanitizer builds run workers without the seccomp filter";
#else
  EXPECT_THAT(status, HasSubstr("Seccomp:\t2")) << "filter mode, installed before any module";
  std::ifstream limits("/proc/" + std::to_string(pids[0]) + "/limits");
  std::stringstream s;
  s << limits.rdbuf();
  EXPECT_THAT(s.str(), ::testing::ContainsRegex("Max core file size +0 +0"));
  EXPECT_THAT(s.str(), ::testing::ContainsRegex("Max address space +unlimited"));
  // A second, different module is dlopen'ed under the filter.
  auto r = h.run("cat", [](pool::TaskRun& t) { t.params.set_stdin("after seccomp"); });
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().stdout(), "after seccomp");
  EXPECT_EQ(h.pool->worker_pids(), pids) << "same worker, no crash";
#endif
}

// As root, with the provider's sandbox: workers run as the sandbox user, are not dumpable and
// have their seccomp filter before the first task; modules and rootfs archives in a directory
// that user cannot read still reach them (as descriptors).
TEST(Pool, WorkersRunAsTheSandboxUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  std::shared_ptr<const engine::ProcessSandbox> sandbox;
  try {
    sandbox = std::make_shared<engine::ProcessSandbox>(engine::SandboxOptions{});
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no bubblewrap sandbox here: " << e.what();
  }
  TempDir cache;
  ASSERT_EQ(chmod(cache.path().c_str(), 0700), 0);  // like /root/.cache: private to us
  pool::PoolOptions po = default_pool_options();
  po.sandbox = sandbox;
  EngineHarness h(po, cache.path());
  h.wait_for(std::chrono::milliseconds(300));
  std::vector<pid_t> pids = h.pool->worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  std::string status = proc_status(pids[0]);
  std::string uid = std::to_string(sandbox->credentials()->first);
  EXPECT_THAT(status, ::testing::ContainsRegex("Uid:\t" + uid + "\t" + uid + "\t" + uid));
  EXPECT_THAT(status, ::testing::ContainsRegex("Groups:[ \t]*\n")) << "no supplementary groups";
#ifndef WASIMOFF_SANITIZED
  EXPECT_THAT(status, HasSubstr("Seccomp:\t2")) << "filtered before the first task";
#endif
  std::string zip = rootfs({{"in.txt", "from a private cache\n"}});
  fs::path archive = cache.path() / "rootfs.zip";
  std::ofstream(archive, std::ios::binary) << zip;
  auto r = h.run("cat", [&](pool::TaskRun& t) {
    t.params.set_stdin("as nobody");
    t.rootfs_path = archive;
  });
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().stdout(), "as nobody");
  EXPECT_EQ(h.pool->worker_pids(), pids) << "same worker, no crash";
}

TEST(Pool, LibcProgramThroughTheWholeWasiLayer) {
#if !WASIMOFF_TEST_HAVE_LIBC_FIXTURE
  GTEST_SKIP() << "clang-14 with wasi-libc is not installed";
#else
  EngineHarness h;
  std::string zip =
      rootfs({{"data/", ""}, {"data/sub/", ""}, {"data/in.txt", "from the rootfs\n"}});
  auto r = h.run("libc_fs", [&](pool::TaskRun& t) {
    t.params.add_args("first");
    t.params.add_envs("GREETING=hi there");
    t.params.set_stdin("some input");
    t.params.add_artifacts("out");
    t.rootfs_zip = zip;
  });
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 3);
  EXPECT_EQ(r.ok().stdout(),
            "in=from the rootfs\n"
            "size=9 reg=1 dir=0\n"
            "entries=301\n"
            "data: in.txt sub (dirs=1)\n"
            "escape=denied errno=Capabilities insufficient\n"
            "missing=denied enoent=1\n"
            "renamed+unlinked=1\n"
            "argc=2 arg1=first env=hi there\n"
            "time_ok=1\n"
            "stdin=some input\n");
  EXPECT_EQ(r.ok().stderr(), "to stderr\n");
  auto entries = read_zip(r.ok().artifacts().blob());
  EXPECT_EQ(entries.size(), 301u);  // out/ and its 300 files
#endif
}

TEST(Pool, ManyTasksOnOneWorkerAndTheirCost) {
  // A long-lived worker must not leak per task (memory reservations, mappings, fds); this also
  // measures what a no-op task costs through WorkerPool::run (printed, not asserted).
  EngineHarness h;
  engine::CompiledModule noop = h.compile("noop");
  expect_serves(h);
  constexpr int kTasks = 2000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kTasks; ++i) {
    pool::TaskRun t;
    t.module = noop.path;
    auto r = h.await(h.pool->run(std::move(t)));
    ASSERT_TRUE(r.has_ok()) << i << ": " << EngineHarness::show(r);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  double us = std::chrono::duration<double, std::micro>(elapsed).count() / kTasks;
  std::printf("[ measure  ] no-op task through WorkerPool::run: %.1f us per task (%d tasks)\n", us,
              kTasks);
  ::testing::Test::RecordProperty("noop_task_us", std::to_string(us));
  std::vector<pid_t> pids = h.pool->worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(h.pool->workers_started(), 1u);
#ifndef WASIMOFF_SANITIZED  // sanitizer shadow memory dwarfs everything else
  std::string status = proc_status(pids[0]);
  // 2000 leaked 8 GiB reservations would be 16 TiB of address space.
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmSize:", 0) == 0) {
      long kb = std::stol(line.substr(7));
      EXPECT_LT(kb, 64L << 20) << "address space keeps growing: " << line;
    }
  }
#endif
}

}  // namespace
}  // namespace wasimoff::testing
