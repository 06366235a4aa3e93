// The inside of pool::WorkerPool (pool/worker_pool.h), shared by the files that implement it:
//
//   worker_pool.cc       the public API and the scheduling: which worker gets which task, waiters,
//                        how many workers should exist (top_up, resize), recycling after a task
//   worker_lifecycle.cc  one worker process: spawn, Hello, stderr into our log, exit, retirement,
//                        the start-up back-off
//   task_exchange.cc     one task on one worker: the RunRequest, the exchange over the channel
//                        with the time limit and cancellation, the Response
//
// Everything runs on the pool's executor (one thread, no locks). Internal to pool/; not an API.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/async.h"
#include "provider/engine/child_process.h"
#include "provider/pool/worker_pool.h"

namespace wasimoff::pool::detail {

using Socket = asio::local::stream_protocol::socket;
using std::chrono::milliseconds;

inline constexpr milliseconds kRetireGrace{5000};  // a retired worker must exit within this
inline constexpr milliseconds kCrashGrace{2000};   // wait for the exit status after EOF
inline constexpr milliseconds kMaxBackoff{30000};
inline constexpr std::size_t kMaxRememberedModules = 64;  // affinity hints per worker

// Reads one frame; nullopt when the channel ends, the frame is above `max`, or `slot` (when
// connected) is signalled.
awaitable<std::optional<std::string>> read_frame(Socket& s, std::uint32_t max,
                                                 asio::cancellation_slot slot = {});

struct Worker {
  explicit Worker(asio::any_io_executor ex) : exited(std::move(ex)) {}
  enum class State { kStarting, kIdle, kBusy, kDead };
  std::uint64_t id = 0;
  std::unique_ptr<engine::ChildProcess> proc;
  std::unique_ptr<Socket> channel;
  State state = State::kStarting;
  bool retiring = false;  // takes no more tasks; exits (or is killed) soon
  bool ready = false;     // sent its Hello
  std::uint32_t tasks = 0;
  std::set<std::string> modules;  // compiled modules it has loaded
  OneShotEvent exited;
  engine::ExitStatus status;
};

struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : ready(std::move(ex)) {}
  OneShotEvent ready;
  std::shared_ptr<Worker> worker;  // assigned by hand_over()
  std::string error;               // or: why no worker will come
};

struct PoolState : std::enable_shared_from_this<PoolState> {
  PoolState(asio::any_io_executor e, PoolOptions o) : ex(std::move(e)), options(std::move(o)) {
    target = options.workers;
  }

  asio::any_io_executor ex;
  PoolOptions options;
  std::size_t target = 0;
  std::list<std::shared_ptr<Worker>> workers;  // every worker not yet reaped
  std::deque<std::shared_ptr<Waiter>> waiters;
  std::size_t busy = 0;
  bool closing = false;
  std::uint64_t started = 0;
  std::uint64_t next_id = 1;
  std::function<void(std::size_t, std::size_t)> callback;
  milliseconds backoff{0};
  bool respawn_pending = false;
  std::string last_start_error;  // why the most recent start failed (cleared on success)

  // --- scheduling (worker_pool.cc) ---
  void notify();
  std::size_t active() const;
  std::size_t idle_count() const;
  bool any_ready() const;
  // No worker can come soon: none is ready or starting and the last start failed.
  bool hopeless() const;
  void remove(const std::shared_ptr<Worker>& w) { workers.remove(w); }
  // Starts workers until `target` are alive or starting. co_spawn runs start() inline up to its
  // first suspension, so a spawn that fails at once has already scheduled the back-off here:
  // the loop must re-check respawn_pending or it would spin.
  void top_up();
  void fail_waiters(const std::string& why);
  // A worker is free: give it to the oldest waiter, or mark it idle.
  void hand_over(const std::shared_ptr<Worker>& w);
  // An idle worker, preferring one that has loaded `module`; nullptr if none is idle.
  std::shared_ptr<Worker> take_idle(const std::string& module);
  // After a task: back to work, or replaced.
  void release(const std::shared_ptr<Worker>& w, bool healthy, std::uint64_t rss);

  // --- one worker process (worker_lifecycle.cc) ---
  void spawn_one();
  awaitable<void> start(std::shared_ptr<Worker> w);
  // Spawns the process and connects its channel and stderr; false (after start_failed) if not.
  bool spawn_process(const std::shared_ptr<Worker>& w);
  // Waits for the worker's Hello: empty when it came, else why the start failed; nullopt when the
  // pool closed or the worker was resized away meanwhile (then it is killed: not a failure).
  awaitable<std::optional<std::string>> await_hello(const std::shared_ptr<Worker>& w);
  void start_failed(const std::shared_ptr<Worker>& w, const std::string& why);
  awaitable<void> respawn_after(milliseconds delay);
  awaitable<void> log_stderr(std::uint64_t id, int fd);
  awaitable<void> monitor(std::shared_ptr<Worker> w);
  // Orderly exit: EOF on the channel makes the worker leave its loop; killed if it lingers.
  void retire(const std::shared_ptr<Worker>& w);
  awaitable<void> reap_retired(std::shared_ptr<Worker> w);
  void kill(const std::shared_ptr<Worker>& w);
};

}  // namespace wasimoff::pool::detail
