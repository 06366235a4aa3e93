// One worker process of the pool (pool/pool_state.h): spawning it with its channel and stderr,
// waiting for its Hello, the back-off after failed starts, logging its stderr, noticing its exit,
// retiring and killing it.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>

#include "provider/pool/pool_state.h"
#include "provider/worker/frame.h"
#include "provider/worker/worker.pb.h"

namespace wasimoff::pool {

std::filesystem::path default_worker_path() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "wasimoff-worker";
  return self.parent_path() / "wasimoff-worker";
}

namespace detail {

using namespace asio::experimental::awaitable_operators;

awaitable<std::optional<std::string>> read_frame(Socket& s, std::uint32_t max,
                                                 asio::cancellation_slot slot) {
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

void PoolState::spawn_one() {
  auto w = std::make_shared<Worker>(ex);
  w->id = next_id++;
  workers.push_back(w);
  ++started;
  spawn_logged(ex, start(w), "worker start");
}

void PoolState::start_failed(const std::shared_ptr<Worker>& w, const std::string& why) {
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

awaitable<void> PoolState::respawn_after(milliseconds delay) {
  auto self = shared_from_this();
  co_await sleep_for(delay);
  respawn_pending = false;
  top_up();
}

awaitable<void> PoolState::start(std::shared_ptr<Worker> w) {
  auto self = shared_from_this();
  if (closing || w->retiring) {
    remove(w);
    w->state = Worker::State::kDead;
    w->exited.set();
    co_return;
  }
  if (!spawn_process(w)) co_return;
  std::optional<std::string> why = co_await await_hello(w);
  if (!why) co_return;
  if (!why->empty()) {
    start_failed(w, *why);
    co_return;
  }
  w->ready = true;
  backoff = milliseconds(0);
  last_start_error.clear();
  hand_over(w);
  notify();
}

bool PoolState::spawn_process(const std::shared_ptr<Worker>& w) {
  auto failed = [&](const std::string& why) {
    remove(w);
    w->state = Worker::State::kDead;
    w->exited.set();
    start_failed(w, why);
    return false;
  };
  // The worker's stderr is a pipe we read into our log (escaped, bounded), never our own
  // stderr: nothing a worker writes can forge provider log lines.
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return failed(std::string("pipe: ") + std::strerror(errno));
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return failed(std::string("socketpair: ") + std::strerror(errno));
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
    for (int fd : {sv[0], sv[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return failed(e.what());
  }
  ::close(sv[1]);
  ::close(err_pipe[1]);
  spawn_logged(ex, log_stderr(w->id, err_pipe[0]), "worker stderr");
  w->channel = std::make_unique<Socket>(ex);
  w->channel->assign(asio::local::stream_protocol(), sv[0]);
  spawn_logged(ex, monitor(w), "worker monitor");
  return true;
}

awaitable<std::optional<std::string>> PoolState::await_hello(const std::shared_ptr<Worker>& w) {
  asio::steady_timer timer(ex, options.start_timeout);
  auto r = co_await (read_frame(*w->channel, 4096) || timer.async_wait(asio::use_awaitable));
  if (closing || w->retiring) {  // shut down or resized away while starting: not a failure
    kill(w);
    co_return std::nullopt;
  }
  worker::Hello hello;
  if (r.index() == 1) co_return "no Hello within " + format_duration(options.start_timeout);
  if (!std::get<0>(r)) {
    co_await w->exited.wait();
    co_return "exited during start-up (" + w->status.describe() + ")";
  }
  if (!hello.ParseFromString(*std::get<0>(r)) || hello.abi() != worker::kWorkerAbi)
    co_return "protocol mismatch (is " + options.worker_path.string() + " from the same build?)";
  co_return std::string();
}

// Copies what a worker writes to its stderr into our log until it exits: one record per line,
// each at most 512 bytes, at most kMaxStderrLines lines per worker (then one notice).
awaitable<void> PoolState::log_stderr(std::uint64_t id, int fd) {
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

awaitable<void> PoolState::monitor(std::shared_ptr<Worker> w) {
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

// Orderly exit: EOF on the channel makes the worker leave its loop; killed if it lingers.
void PoolState::retire(const std::shared_ptr<Worker>& w) {
  w->retiring = true;
  if (w->state == Worker::State::kDead) return;
  if (w->channel) {
    boost::system::error_code ec;
    w->channel->close(ec);
  }
  spawn_logged(ex, reap_retired(w), "worker retire");
}

awaitable<void> PoolState::reap_retired(std::shared_ptr<Worker> w) {
  auto self = shared_from_this();
  asio::steady_timer t(ex, kRetireGrace);
  co_await (w->exited.wait() || t.async_wait(asio::use_awaitable));
  if (!w->exited.is_set() && w->proc) w->proc->kill(SIGKILL);
}

void PoolState::kill(const std::shared_ptr<Worker>& w) {
  w->retiring = true;
  if (w->proc) w->proc->kill(SIGKILL);
}

}  // namespace detail
}  // namespace wasimoff::pool
