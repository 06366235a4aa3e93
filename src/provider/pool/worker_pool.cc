// pool::WorkerPool's public API and its scheduling (pool/pool_state.h): the target number of
// workers, handing free workers to waiting tasks (preferring one that has the module loaded),
// and what happens to a worker after a task. The worker processes themselves are in
// worker_lifecycle.cc, one task's exchange with a worker in task_exchange.cc.
#include "provider/pool/worker_pool.h"

#include <fmt/format.h>

#include <list>

#include "provider/pool/pool_state.h"

namespace wasimoff::pool {

std::string format_duration(std::chrono::milliseconds d) {
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

namespace detail {

void PoolState::notify() {
  if (callback) callback(target, busy);
}

std::size_t PoolState::active() const {
  std::size_t n = 0;
  for (const auto& w : workers)
    if (!w->retiring && w->state != Worker::State::kDead) ++n;
  return n;
}

std::size_t PoolState::idle_count() const {
  std::size_t n = 0;
  for (const auto& w : workers)
    if (!w->retiring && w->state == Worker::State::kIdle) ++n;
  return n;
}

bool PoolState::any_ready() const {
  for (const auto& w : workers)
    if (!w->retiring && w->ready) return true;
  return false;
}

bool PoolState::hopeless() const {
  if (last_start_error.empty()) return false;
  for (const auto& w : workers)
    if (!w->retiring) return false;
  return true;
}

void PoolState::top_up() {
  while (!closing && !respawn_pending && active() < target) spawn_one();
}

void PoolState::fail_waiters(const std::string& why) {
  while (!waiters.empty()) {
    auto wt = std::move(waiters.front());
    waiters.pop_front();
    wt->error = why;
    wt->ready.set();
  }
}

void PoolState::hand_over(const std::shared_ptr<Worker>& w) {
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

std::shared_ptr<Worker> PoolState::take_idle(const std::string& module) {
  std::shared_ptr<Worker> any;
  for (const auto& w : workers) {
    if (w->retiring || w->state != Worker::State::kIdle) continue;
    if (w->modules.count(module)) return w;
    if (!any) any = w;
  }
  return any;
}

void PoolState::release(const std::shared_ptr<Worker>& w, bool healthy, std::uint64_t rss) {
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
}  // namespace detail

WorkerPool::WorkerPool(asio::any_io_executor ex, PoolOptions options)
    : impl_(std::make_shared<detail::PoolState>(std::move(ex), std::move(options))) {
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
    if (w->proc && w->state != detail::Worker::State::kDead) out.push_back(w->proc->pid());
  return out;
}

void WorkerPool::on_change(std::function<void(std::size_t, std::size_t)> callback) {
  impl_->callback = std::move(callback);
}

void WorkerPool::resize(std::size_t workers) {
  detail::PoolState& s = *impl_;
  if (s.closing) return;
  s.target = workers;
  // Surplus idle workers go now; busy ones when their task ends (hand_over()).
  for (const auto& w : std::list<std::shared_ptr<detail::Worker>>(s.workers)) {
    if (s.active() <= s.target) break;
    if (!w->retiring && (w->state == detail::Worker::State::kIdle ||
                         w->state == detail::Worker::State::kStarting)) {
      if (w->state == detail::Worker::State::kStarting)
        s.kill(w);
      else
        s.retire(w);
    }
  }
  s.top_up();
  s.notify();
}

awaitable<void> WorkerPool::shutdown() {
  std::shared_ptr<detail::PoolState> s = impl_;
  s->closing = true;
  s->fail_waiters("provider is shutting down");
  auto workers = s->workers;
  for (const auto& w : workers) s->kill(w);
  for (const auto& w : workers) co_await w->exited.wait();
}

}  // namespace wasimoff::pool
