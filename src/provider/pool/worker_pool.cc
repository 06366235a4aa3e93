#include "provider/pool/worker_pool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <list>
#include <set>
#include <system_error>

#include "provider/engine/child_process.h"
#include "provider/worker/frame.h"
#include "provider/worker/worker.pb.h"

namespace wasimoff::pool {

namespace {

using Socket = asio::local::stream_protocol::socket;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kRetireGrace{5000};  // a retired worker must exit within this
constexpr milliseconds kCrashGrace{2000};   // wait for the exit status after EOF
constexpr milliseconds kMaxBackoff{30000};
constexpr std::size_t kMaxRememberedModules = 64;  // affinity hints per worker

std::int64_t unix_nanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void add_trace(v1::Task::Trace* trace, v1::Task::TraceEvent::EventType type, std::int64_t when) {
  if (!trace || when == 0) return;
  auto* e = trace->add_events();
  e->set_unixnano(when);
  e->set_event(type);
}

// Reads one frame; nullopt when the channel ends, the frame is above `max`, or `slot` (when
// connected) is signalled.
awaitable<std::optional<std::string>> read_frame(Socket& s, std::uint32_t max,
                                                 asio::cancellation_slot slot = {}) {
  char header[worker::kFrameHeaderSize];
  boost::system::error_code ec;
  co_await asio::async_read(
      s, asio::buffer(header),
      asio::bind_cancellation_slot(slot, asio::redirect_error(asio::use_awaitable, ec)));
  if (ec) co_return std::nullopt;
  std::uint32_t n = worker::decode_frame_header(header);
  if (n > max) co_return std::nullopt;
  std::string body(n, '\0');
  co_await asio::async_read(
      s, asio::buffer(body),
      asio::bind_cancellation_slot(slot, asio::redirect_error(asio::use_awaitable, ec)));
  if (ec) co_return std::nullopt;
  co_return body;
}

// Why an exchange with a worker was cut short. Shared with the time-limit timer's handler, which
// may run after the exchange is over.
struct Interruption {
  asio::cancellation_signal signal;
  bool canceled = false;
  bool timed_out = false;
  void interrupt(bool& why) {
    if (canceled || timed_out) return;
    why = true;
    signal.emit(asio::cancellation_type::terminal);
  }
};

}  // namespace

std::string format_duration(milliseconds d) {
  long long ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  std::string out;
  long long h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  if (h) out += fmt::format("{}h", h);
  if (h || m) out += fmt::format("{}m", m);
  if (frac == 0) return out + fmt::format("{}s", s);
  std::string f = fmt::format("{:03}", frac);
  while (f.back() == '0') f.pop_back();
  return out + fmt::format("{}.{}s", s, f);
}

std::filesystem::path default_worker_path() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "wasimoff-worker";
  return self.parent_path() / "wasimoff-worker";
}

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

struct WorkerPool::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, PoolOptions o) : ex(std::move(e)), options(std::move(o)) {
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

  void notify() {
    if (callback) callback(target, busy);
  }

  std::size_t active() const {
    std::size_t n = 0;
    for (const auto& w : workers)
      if (!w->retiring && w->state != Worker::State::kDead) ++n;
    return n;
  }

  std::size_t idle_count() const {
    std::size_t n = 0;
    for (const auto& w : workers)
      if (!w->retiring && w->state == Worker::State::kIdle) ++n;
    return n;
  }

  bool any_ready() const {
    for (const auto& w : workers)
      if (!w->retiring && w->ready) return true;
    return false;
  }

  // No worker can come soon: none is ready or starting and the last start failed.
  bool hopeless() const {
    if (last_start_error.empty()) return false;
    for (const auto& w : workers)
      if (!w->retiring) return false;
    return true;
  }

  void remove(const std::shared_ptr<Worker>& w) { workers.remove(w); }

  // Starts workers until `target` are alive or starting. co_spawn runs start() inline up to its
  // first suspension, so a spawn that fails at once has already scheduled the back-off here:
  // the loop must re-check respawn_pending or it would spin.
  void top_up() {
    while (!closing && !respawn_pending && active() < target) spawn_one();
  }

  void spawn_one() {
    auto w = std::make_shared<Worker>(ex);
    w->id = next_id++;
    workers.push_back(w);
    ++started;
    spawn_logged(ex, start(w), "worker start");
  }

  void fail_waiters(const std::string& why) {
    while (!waiters.empty()) {
      auto wt = std::move(waiters.front());
      waiters.pop_front();
      wt->error = why;
      wt->ready.set();
    }
  }

  void start_failed(const std::shared_ptr<Worker>& w, const std::string& why) {
    spdlog::warn("worker {} failed to start: {}", w->id, why);
    last_start_error = why;
    w->retiring = true;
    if (w->proc) w->proc->kill(SIGKILL);
    if (!any_ready()) fail_waiters("no worker available: " + why);
    backoff = std::min(kMaxBackoff, backoff.count() ? backoff * 2 : milliseconds(1000));
    if (!respawn_pending && !closing) {
      respawn_pending = true;
      spawn_logged(ex, respawn_after(backoff), "worker respawn");
    }
  }

  awaitable<void> respawn_after(milliseconds delay) {
    auto self = shared_from_this();
    co_await sleep_for(delay);
    respawn_pending = false;
    top_up();
  }

  awaitable<void> start(std::shared_ptr<Worker> w) {
    auto self = shared_from_this();
    if (closing || w->retiring) {
      remove(w);
      w->state = Worker::State::kDead;
      w->exited.set();
      co_return;
    }
    // The worker's stderr is a pipe we read into our log (escaped, bounded), never our own
    // stderr: nothing a worker writes can forge provider log lines.
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      std::string why = std::string("pipe: ") + std::strerror(errno);
      remove(w);
      w->state = Worker::State::kDead;
      w->exited.set();
      start_failed(w, why);
      co_return;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      ::close(err_pipe[0]);
      ::close(err_pipe[1]);
      std::string why = std::string("socketpair: ") + std::strerror(errno);
      remove(w);
      w->state = Worker::State::kDead;
      w->exited.set();
      start_failed(w, why);
      co_return;
    }
    engine::SpawnOptions so;
    so.argv = {options.worker_path.string(), "--channel-fd", "3", "--parent-pid",
               std::to_string(getpid())};
#ifndef WASIMOFF_SANITIZED
    // Backstop for linear memory + filesystem (docs/provider-internals.md §3.2). Sanitizer runtimes
    // reserve terabytes of shadow memory and cannot run under it.
    so.argv.push_back("--data-limit");
    so.argv.push_back(std::to_string(options.memory_limit + options.fs_limit + (256ull << 20)));
#endif
    so.argv.push_back("--max-loaded-modules");
    so.argv.push_back(std::to_string(options.max_loaded_modules));
    if (!options.seccomp) so.argv.push_back("--no-seccomp");
    so.env = std::vector<std::string>{};
    so.fds = {{3, sv[1]}, {2, err_pipe[1]}};
    // As the sandbox user when we are root: the worker never holds our privileges.
    if (options.sandbox) so.credentials = options.sandbox->credentials();
    so.parent_death_signal = SIGKILL;
    so.new_process_group = true;
    try {
      w->proc = std::make_unique<engine::ChildProcess>(ex, so);
    } catch (const std::exception& e) {
      ::close(sv[0]);
      ::close(sv[1]);
      ::close(err_pipe[0]);
      ::close(err_pipe[1]);
      remove(w);
      w->state = Worker::State::kDead;
      w->exited.set();
      start_failed(w, e.what());
      co_return;
    }
    ::close(sv[1]);
    ::close(err_pipe[1]);
    spawn_logged(ex, log_stderr(w->id, err_pipe[0]), "worker stderr");
    w->channel = std::make_unique<Socket>(ex);
    w->channel->assign(asio::local::stream_protocol(), sv[0]);
    spawn_logged(ex, monitor(w), "worker monitor");

    asio::steady_timer timer(ex, options.start_timeout);
    auto r = co_await (read_frame(*w->channel, 4096) || timer.async_wait(asio::use_awaitable));
    if (closing || w->retiring) {  // shut down or resized away while starting: not a failure
      kill(w);
      co_return;
    }
    std::string why;
    worker::Hello hello;
    if (r.index() == 1) {
      why = "no Hello within " + format_duration(options.start_timeout);
    } else if (!std::get<0>(r)) {
      co_await w->exited.wait();
      why = "exited during start-up (" + w->status.describe() + ")";
    } else if (!hello.ParseFromString(*std::get<0>(r)) || hello.abi() != worker::kWorkerAbi) {
      why = "protocol mismatch (is " + options.worker_path.string() + " from the same build?)";
    }
    if (!why.empty()) {
      start_failed(w, why);
      co_return;
    }
    w->ready = true;
    backoff = milliseconds(0);
    last_start_error.clear();
    hand_over(w);
    notify();
  }

  // Copies what a worker writes to its stderr into our log until it exits: one record per line,
  // each at most 512 bytes, at most kMaxStderrLines lines per worker (then one notice).
  awaitable<void> log_stderr(std::uint64_t id, int fd) {
#ifdef WASIMOFF_SANITIZED
    constexpr int kMaxStderrLines = 10000;  // sanitizer reports are long and the point
#else
    constexpr int kMaxStderrLines = 200;
#endif
    asio::posix::stream_descriptor in(co_await asio::this_coro::executor, fd);
    std::string pending;
    int lines = 0;
    char buf[4096];
    auto emit = [&](std::string_view line) {
      if (lines < kMaxStderrLines)
        spdlog::warn("worker {}: {}", id, line.substr(0, 512));
      else if (lines == kMaxStderrLines)
        spdlog::warn("worker {}: further output dropped", id);
      ++lines;
    };
    for (;;) {
      boost::system::error_code ec;
      std::size_t n = co_await in.async_read_some(asio::buffer(buf),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      pending.append(buf, n);
      for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        emit(std::string_view(pending).substr(0, nl));
        pending.erase(0, nl + 1);
      }
      if (pending.size() > 512) {  // an endless line: cut it
        emit(pending);
        pending.clear();
      }
    }
    if (!pending.empty()) emit(pending);
  }

  awaitable<void> monitor(std::shared_ptr<Worker> w) {
    auto self = shared_from_this();
    try {
      w->status = co_await w->proc->wait();
    } catch (const std::exception& e) {
      spdlog::warn("worker {}: cannot observe its exit: {}", w->id, e.what());
      w->status.code = -1;
    }
    bool was_idle = w->state == Worker::State::kIdle && !w->retiring;
    w->state = Worker::State::kDead;
    w->retiring = true;
    w->exited.set();
    remove(w);
    if (was_idle) spdlog::warn("idle worker {} died ({})", w->id, w->status.describe());
    top_up();
  }

  // A worker is free: give it to the oldest waiter, or mark it idle.
  void hand_over(const std::shared_ptr<Worker>& w) {
    if (closing || w->retiring) {
      retire(w);
      return;
    }
    if (active() > target) {  // resized down
      retire(w);
      return;
    }
    while (!waiters.empty()) {
      auto wt = std::move(waiters.front());
      waiters.pop_front();
      if (wt->ready.is_set()) continue;
      wt->worker = w;
      w->state = Worker::State::kBusy;
      wt->ready.set();
      return;
    }
    w->state = Worker::State::kIdle;
  }

  std::shared_ptr<Worker> take_idle(const std::string& module) {
    std::shared_ptr<Worker> any;
    for (const auto& w : workers) {
      if (w->retiring || w->state != Worker::State::kIdle) continue;
      if (w->modules.count(module)) return w;
      if (!any) any = w;
    }
    return any;
  }

  // Orderly exit: EOF on the channel makes the worker leave its loop; killed if it lingers.
  void retire(const std::shared_ptr<Worker>& w) {
    w->retiring = true;
    if (w->state == Worker::State::kDead) return;
    if (w->channel) {
      boost::system::error_code ec;
      w->channel->close(ec);
    }
    spawn_logged(ex, reap_retired(w), "worker retire");
  }

  awaitable<void> reap_retired(std::shared_ptr<Worker> w) {
    auto self = shared_from_this();
    asio::steady_timer t(ex, kRetireGrace);
    co_await (w->exited.wait() || t.async_wait(asio::use_awaitable));
    if (!w->exited.is_set() && w->proc) w->proc->kill(SIGKILL);
  }

  void kill(const std::shared_ptr<Worker>& w) {
    w->retiring = true;
    if (w->proc) w->proc->kill(SIGKILL);
  }

  // After a task: back to work, or replaced.
  void release(const std::shared_ptr<Worker>& w, bool healthy, std::uint64_t rss) {
    --busy;
    if (!healthy) {
      kill(w);
    } else {
      ++w->tasks;
      if (w->tasks >= options.recycle_after_tasks || rss > options.recycle_rss_bytes) {
        retire(w);
      } else {
        hand_over(w);
      }
    }
    top_up();
    notify();
  }
};

WorkerPool::WorkerPool(asio::any_io_executor ex, PoolOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {
  if (impl_->options.worker_path.empty()) impl_->options.worker_path = default_worker_path();
  impl_->top_up();
}

WorkerPool::~WorkerPool() {
  impl_->closing = true;
  impl_->callback = nullptr;
  impl_->fail_waiters("provider is shutting down");
  for (const auto& w : impl_->workers) impl_->kill(w);
}

std::size_t WorkerPool::size() const {
  return impl_->target;
}
std::size_t WorkerPool::busy() const {
  return impl_->busy;
}
std::size_t WorkerPool::idle() const {
  return impl_->idle_count();
}
std::uint64_t WorkerPool::workers_started() const {
  return impl_->started;
}

std::vector<pid_t> WorkerPool::worker_pids() const {
  std::vector<pid_t> out;
  for (const auto& w : impl_->workers)
    if (w->proc && w->state != Worker::State::kDead) out.push_back(w->proc->pid());
  return out;
}

void WorkerPool::on_change(std::function<void(std::size_t, std::size_t)> callback) {
  impl_->callback = std::move(callback);
}

void WorkerPool::resize(std::size_t workers) {
  Impl& s = *impl_;
  if (s.closing) return;
  s.target = workers;
  // Surplus idle workers go now; busy ones when their task ends (hand_over()).
  for (const auto& w : std::list<std::shared_ptr<Worker>>(s.workers)) {
    if (s.active() <= s.target) break;
    if (!w->retiring &&
        (w->state == Worker::State::kIdle || w->state == Worker::State::kStarting)) {
      if (w->state == Worker::State::kStarting)
        s.kill(w);
      else
        s.retire(w);
    }
  }
  s.top_up();
  s.notify();
}

awaitable<void> WorkerPool::shutdown() {
  std::shared_ptr<Impl> s = impl_;
  s->closing = true;
  s->fail_waiters("provider is shutting down");
  auto workers = s->workers;
  for (const auto& w : workers) s->kill(w);
  for (const auto& w : workers) co_await w->exited.wait();
}

awaitable<v1::Task::Wasip1::Response> WorkerPool::run(TaskRun task, CancelToken* cancel) {
  std::shared_ptr<Impl> s = impl_;
  v1::Task::Wasip1::Response response;
  auto fail = [&response](std::string why) {
    response.set_error(std::move(why));
    return response;
  };
  auto canceled = [&] { return fail("task canceled: " + cancel->reason()); };
  if (s->closing) co_return fail("provider is shutting down");
  if (cancel && cancel->cancelled()) co_return canceled();

  // The QoS deadline counts from now (queueing included); --timeout only while running.
  auto now_sys = std::chrono::system_clock::now();
  auto now = steady::now();
  std::optional<steady::time_point> deadline;
  if (task.deadline) {
    if (*task.deadline <= now_sys) co_return fail("deadline exceeded");
    deadline = now + std::chrono::duration_cast<steady::duration>(*task.deadline - now_sys);
  }
  OneShotEvent never(s->ex);
  auto cancel_wait = [&]() { return cancel ? cancel->event().wait() : never.wait(); };

  std::string module = task.module.string();
  std::shared_ptr<Worker> w = s->take_idle(module);
  if (w) {
    w->state = Worker::State::kBusy;
  } else {
    if (task.immediate) co_return fail("qos: no idle workers for immediate mode");
    if (s->hopeless()) co_return fail("no worker available: " + s->last_start_error);
    if (s->waiters.size() >= s->options.max_waiting)
      co_return fail("provider overloaded: too many tasks waiting for a worker");
    auto waiter = std::make_shared<Waiter>(s->ex);
    s->waiters.push_back(waiter);
    asio::steady_timer t(s->ex, deadline.value_or(steady::time_point::max()));
    co_await (waiter->ready.wait() || cancel_wait() || t.async_wait(asio::use_awaitable));
    std::erase(s->waiters, waiter);
    w = waiter->worker;
    if (!w) {
      if (!waiter->error.empty()) co_return fail(waiter->error);
      if (cancel && cancel->cancelled()) co_return canceled();
      co_return fail("deadline exceeded");
    }
    if (cancel && cancel->cancelled()) {  // both happened; give the worker back
      s->hand_over(w);
      co_return canceled();
    }
  }
  ++s->busy;
  s->notify();
  add_trace(task.trace, v1::Task::TraceEvent::ProviderGetWorker,
            unix_nanos(std::chrono::system_clock::now()));

  // The worker may run as a user that cannot open our cache, so the module and the rootfs go to
  // it as open descriptors (closed here once sent: the message holds its own references). The
  // module only when the worker has not loaded it yet (as far as we know: see module_missing).
  struct OpenFile {
    int fd = -1;
    ~OpenFile() {
      if (fd >= 0) ::close(fd);
    }
  } module_file, rootfs_file;
  auto open_module = [&]() -> std::optional<v1::Task::Wasip1::Response> {
    module_file.fd = ::open(module.c_str(), O_RDONLY | O_CLOEXEC);
    if (module_file.fd >= 0) return std::nullopt;
    s->release(w, true, 0);
    return fail("provider cannot open its compiled module: " + std::string(std::strerror(errno)));
  };
  if (!w->modules.count(module)) {
    if (auto failed = open_module()) co_return *failed;
  }
  worker::RunRequest req;
  req.set_module_key(task.module.filename().string());
  *req.mutable_params() = std::move(task.params);
  req.mutable_params()->clear_binary();
  req.mutable_params()->clear_rootfs();
  if (task.rootfs_zip) {
    req.set_rootfs_zip(std::move(*task.rootfs_zip));
  } else if (task.rootfs_path) {
    rootfs_file.fd = ::open(task.rootfs_path->c_str(), O_RDONLY | O_CLOEXEC);
    if (rootfs_file.fd < 0) {
      s->release(w, true, 0);
      co_return fail("rootfs: cannot open cached archive: " + std::string(std::strerror(errno)));
    }
    req.set_rootfs_attached(true);
  }
  req.set_memory_limit(s->options.memory_limit);
  req.set_fs_limit(s->options.fs_limit);
  const std::uint64_t output_limit =
      std::min(task.output_limit.value_or(s->options.output_limit), s->options.output_limit);
  req.set_output_limit(output_limit);
  if (task.deadline) req.set_deadline_unixnano(unix_nanos(*task.deadline));
  req.set_module_attached(module_file.fd >= 0);
  std::string frame;
  try {
    frame = worker::encode_frame(req);
  } catch (const std::exception& e) {  // too large for the channel, or out of memory
    s->release(w, true, 0);
    co_return fail(std::string("task too large for a worker: ") + e.what());
  }

  // Time limit while running: the earlier of --timeout and the deadline.
  steady::time_point limit = steady::time_point::max();
  bool limit_is_deadline = false;
  if (s->options.timeout) limit = steady::now() + *s->options.timeout;
  if (deadline && *deadline <= limit) {
    limit = *deadline;
    limit_is_deadline = true;
  }
  // A cancel or the time limit interrupts the exchange through a cancellation signal on its
  // channel operations (cheaper per task than racing the exchange against both in a parallel
  // group); the flags then say which one it was.
  auto interruption = std::make_shared<Interruption>();
  asio::steady_timer timer(s->ex, limit);
  if (limit != steady::time_point::max()) {
    timer.async_wait([interruption](boost::system::error_code ec) {
      if (!ec) interruption->interrupt(interruption->timed_out);
    });
  }
  if (cancel) {
    interruption->canceled = cancel->cancelled();
    cancel->on_cancel([interruption] { interruption->interrupt(interruption->canceled); });
  }
  struct Disarm {
    asio::steady_timer& timer;
    CancelToken* cancel;
    ~Disarm() {
      timer.cancel();
      if (cancel) cancel->on_cancel({});
    }
  } disarm{timer, cancel};
  auto max_reply = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(worker::kMaxFrameSize, output_limit + (16u << 20)));
  auto exchange = [&]() -> awaitable<std::optional<std::string>> {
    if (interruption->canceled || interruption->timed_out) co_return std::nullopt;
    // Stamped before writing: the worker may read and stamp event 34 before we resume.
    std::int64_t posted = unix_nanos(std::chrono::system_clock::now());
    std::vector<int> fds;
    if (module_file.fd >= 0) fds.push_back(module_file.fd);
    if (rootfs_file.fd >= 0) fds.push_back(rootfs_file.fd);
    std::string_view header(frame.data(), worker::kFrameHeaderSize);
    if (!worker::send_frame_header_with_fds(w->channel->native_handle(), header, fds))
      co_return std::nullopt;
    boost::system::error_code ec;
    co_await asio::async_write(
        *w->channel, asio::buffer(frame.data() + header.size(), frame.size() - header.size()),
        asio::bind_cancellation_slot(interruption->signal.slot(),
                                     asio::redirect_error(asio::use_awaitable, ec)));
    if (ec) co_return std::nullopt;
    add_trace(task.trace, v1::Task::TraceEvent::ProviderPostToWorker, posted);
    co_return co_await read_frame(*w->channel, max_reply, interruption->signal.slot());
  };
  // 0: the exchange ended (with a reply or not), 1: canceled, 2: time limit — as before.
  auto outcome_of = [&](std::optional<std::string> r) -> std::size_t {
    if (r) return 0;
    return interruption->canceled ? 1 : interruption->timed_out ? 2 : 0;
  };
  auto exchanged = co_await exchange();
  std::size_t outcome = outcome_of(exchanged);
  worker::RunReply reply;
  bool replied = exchanged && reply.ParseFromString(*exchanged);
  if (replied && reply.module_missing() && module_file.fd < 0) {
    // The worker no longer had the module (it keeps a bounded number loaded): nothing ran; send
    // the same task once more with the module attached.
    w->modules.erase(module);
    if (auto failed = open_module()) co_return *failed;
    req.set_module_attached(true);
    try {
      frame = worker::encode_frame(req);
    } catch (const std::exception& e) {
      s->release(w, true, 0);
      co_return fail(std::string("task too large for a worker: ") + e.what());
    }
    exchanged = co_await exchange();
    outcome = outcome_of(exchanged);
    reply.Clear();
    replied = exchanged && reply.ParseFromString(*exchanged);
  }
  req.Clear();

  if (outcome == 1) {
    s->release(w, false, 0);
    co_return canceled();
  }
  if (outcome == 2) {
    s->release(w, false, 0);
    if (limit_is_deadline) co_return fail("deadline exceeded");
    co_return fail("task timed out after " + format_duration(*s->options.timeout));
  }
  if (!replied || reply.module_missing()) {
    // The worker died mid-task (or broke the protocol); report how it ended.
    asio::steady_timer grace(s->ex, kCrashGrace);
    co_await (w->exited.wait() || grace.async_wait(asio::use_awaitable));
    bool exited = w->exited.is_set();
    s->release(w, false, 0);
    if (s->closing) co_return fail("task canceled: provider shutting down");
    if (!exited) co_return fail("worker crashed: broken channel");
    if (w->status.signaled)
      co_return fail(fmt::format("worker crashed: signal {}", w->status.code));
    co_return fail("worker crashed: " + w->status.describe());
  }
  add_trace(task.trace, v1::Task::TraceEvent::ProviderWorkerPrepare, reply.prepared_unixnano());
  add_trace(task.trace, v1::Task::TraceEvent::ProviderWorkerExecute, reply.started_unixnano());
  add_trace(task.trace, v1::Task::TraceEvent::ProviderWorkerDone, reply.finished_unixnano());
  if (w->modules.size() >= kMaxRememberedModules) w->modules.clear();
  w->modules.insert(module);
  s->release(w, true, reply.rss_bytes());
  response = std::move(*reply.mutable_response());
  co_return response;
}

}  // namespace wasimoff::pool
