// The supervisor's pool of sandboxed worker processes (docs/provider-internals.md §3.2).
//
// Pre-started `wasimoff-worker` processes, one task at a time each. A task is sent over the
// worker's socketpair and answered with a Task.Wasip1.Response; the worker keeps compiled
// modules loaded, so a task costs an instantiation, not a process start (the pool prefers an
// idle worker that already loaded the task's module). Failure handling, all answered in the
// Response (never thrown):
//   * --timeout / QoS deadline  -> SIGKILL the worker, `task timed out after <d>` /
//                                  `deadline exceeded`
//   * cancellation              -> SIGKILL the worker, `task canceled: <reason>`
//   * the worker dies           -> `worker crashed: signal <n>` (or `… exit status <n>`)
//   * QoS immediate, none idle  -> `qos: no idle workers for immediate mode`
// A dead or killed worker is replaced at once; workers are also recycled after
// `recycle_after_tasks` tasks or when their RSS after a task exceeds `recycle_rss_bytes`.
//
// Everything runs on the executor given to the constructor (one thread; no locks, no blocking
// calls: sockets and pidfds are registered with the io_context). The pool must be used from that
// executor only.
#pragma once

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/async.h"
#include "provider/engine/process_sandbox.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::pool {

namespace v1 = wasimoff::v1;

namespace detail {
struct PoolState;  // pool/pool_state.h
}

struct PoolOptions {
  std::filesystem::path worker_path;  // the wasimoff-worker executable (default_worker_path())
  std::size_t workers = 1;
  std::uint64_t memory_limit = 1ull << 30;           // linear memory per task
  std::uint64_t fs_limit = 256ull << 20;             // in-memory filesystem per task
  std::uint64_t output_limit = 63ull << 20;          // stdout + stderr + artifacts
  std::optional<std::chrono::milliseconds> timeout;  // wall-clock limit per task (--timeout)
  std::uint32_t recycle_after_tasks = 10000;
  std::uint64_t recycle_rss_bytes = 512ull << 20;
  std::chrono::milliseconds start_timeout{10000};  // spawn until the worker's Hello
  std::size_t max_waiting = 4096;                  // run() calls queued for a worker
  std::size_t max_loaded_modules = 32;             // compiled modules a worker keeps loaded
  // Workers run as the sandbox's user when it has one (the provider is root); nullptr = as us.
  std::shared_ptr<const engine::ProcessSandbox> sandbox;
#ifdef WASIMOFF_SANITIZED
  bool seccomp = false;  // sanitizer runtimes need syscalls the allow-list forbids
#else
  bool seccomp = true;
#endif
};

// One task for a worker. `params.binary` and `params.rootfs` are ignored: the supervisor has
// resolved them into `module` (compiled) and `rootfs_path` / `rootfs_zip`.
struct TaskRun {
  v1::Task::Wasip1::Params params;
  std::filesystem::path module;                      // compiled .so (engine::CompiledModule)
  std::optional<std::filesystem::path> rootfs_path;  // cached archive, or
  std::optional<std::string> rootfs_zip;             // inline archive bytes
  // stdout + stderr + artifacts limit of this task (e.g. what the Broker's message size leaves);
  // at most, and by default, PoolOptions::output_limit.
  std::optional<std::uint64_t> output_limit;
  std::optional<std::chrono::system_clock::time_point> deadline;  // QoS deadline
  bool immediate = false;                                         // QoS immediate
  v1::Task::Trace* trace = nullptr;  // if set, events 32–36 are appended (must outlive run())
};

// Cancels one run (Task.Cancel). cancel() may come before, during or after run().
class CancelToken {
 public:
  explicit CancelToken(asio::any_io_executor ex) : event_(std::move(ex)) {}
  void cancel(std::string reason) {
    if (event_.is_set()) return;
    reason_ = std::move(reason);
    event_.set();
    if (auto hook = std::move(on_cancel_)) hook();
  }
  // `hook` runs (once, synchronously) when cancel() is called; {} removes it. One at a time: the
  // pool uses it to interrupt the exchange with the worker.
  void on_cancel(std::function<void()> hook) { on_cancel_ = std::move(hook); }
  bool cancelled() const { return event_.is_set(); }
  const std::string& reason() const { return reason_; }
  OneShotEvent& event() { return event_; }

 private:
  OneShotEvent event_;
  std::string reason_;
  std::function<void()> on_cancel_;
};

// Formats a duration for messages the way Go does: "250ms", "10s", "1.5s", "1m30s".
std::string format_duration(std::chrono::milliseconds d);

// wasimoff-worker next to the running executable.
std::filesystem::path default_worker_path();

class WorkerPool {
 public:
  // Starts `options.workers` workers in the background.
  WorkerPool(asio::any_io_executor ex, PoolOptions options);
  // Kills all workers (they are reaped by the loop, or here if it no longer runs).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs one task; waits for an idle worker unless `task.immediate`. Never throws for task
  // failures (they are Response.error); throws only when the pool is misused.
  asio::awaitable<v1::Task::Wasip1::Response> run(TaskRun task, CancelToken* cancel = nullptr);

  std::size_t size() const;  // target number of workers = announced concurrency
  std::size_t busy() const;  // workers running a task
  std::size_t idle() const;  // started workers waiting for a task

  // Changes the number of workers; busy workers above the target retire after their task.
  void resize(std::size_t workers);

  // Stops accepting tasks, fails waiting ones, kills all workers and waits until they are gone.
  // Runs in progress end with `task canceled: provider shutting down`.
  asio::awaitable<void> shutdown();

  // Called (on the executor) whenever size() or busy() changes, e.g. to announce
  // Event.ProviderResources{concurrency: size, tasks: busy}.
  void on_change(std::function<void(std::size_t size, std::size_t busy)> callback);

  // Diagnostics and tests.
  std::vector<pid_t> worker_pids() const;  // live workers
  std::uint64_t workers_started() const;   // spawned so far (replacements included)

 private:
  std::shared_ptr<detail::PoolState> impl_;
};

}  // namespace wasimoff::pool
