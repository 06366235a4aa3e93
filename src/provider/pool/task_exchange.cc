// One task on one worker (pool/pool_state.h), WorkerPool::run() step by step: get a worker
// (idle, or wait for one within the deadline), build the RunRequest with the module and rootfs as
// descriptors, exchange it over the worker's channel under the time limit and cancellation
// (resending once with the module when the worker had dropped it), and turn how that ended into
// the Response. A worker whose exchange was cut short or broke is killed, never reused.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "provider/pool/pool_state.h"
#include "provider/worker/frame.h"
#include "provider/worker/worker.pb.h"

namespace wasimoff::pool {

namespace {

using namespace detail;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
using Response = v1::Task::Wasip1::Response;

std::int64_t unix_nanos(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void add_trace(v1::Task::Trace* trace, v1::Task::TraceEvent::EventType type, std::int64_t when) {
  if (!trace || when == 0) return;
  auto* e = trace->add_events();
  e->set_unixnano(when);
  e->set_event(type);
}

Response fail(std::string why) {
  Response response;
  response.set_error(std::move(why));
  return response;
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

struct OpenFile {
  int fd = -1;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

// How an exchange ended: with a reply (or without one: the worker broke), canceled, or at the
// time limit.
enum class Ended { kExchanged, kCanceled, kTimedOut };

class TaskExchange {
 public:
  TaskExchange(std::shared_ptr<PoolState> s, TaskRun& task, CancelToken* cancel)
      : s_(std::move(s)), task_(task), cancel_(cancel), module_(task.module.string()) {}
  ~TaskExchange() {
    if (timer_) timer_->cancel();
    if (armed_ && cancel_) cancel_->on_cancel({});
  }

  awaitable<Response> run() {
    if (s_->closing) co_return fail("provider is shutting down");
    if (cancel_ && cancel_->cancelled()) co_return canceled();
    if (auto failed = co_await acquire()) co_return std::move(*failed);
    ++s_->busy;
    s_->notify();
    add_trace(task_.trace, v1::Task::TraceEvent::ProviderGetWorker,
              unix_nanos(std::chrono::system_clock::now()));
    if (auto failed = prepare()) co_return std::move(*failed);
    arm_limits();
    auto exchanged = co_await exchange();
    worker::RunReply reply;
    bool replied = exchanged && reply.ParseFromString(*exchanged);
    if (replied && reply.module_missing() && module_file_.fd < 0) {
      // The worker no longer had the module (it keeps a bounded number loaded): nothing ran;
      // send the same task once more with the module attached.
      w_->modules.erase(module_);
      if (auto failed = open_module()) co_return std::move(*failed);
      req_.set_module_attached(true);
      if (auto failed = encode()) co_return std::move(*failed);
      exchanged = co_await exchange();
      reply.Clear();
      replied = exchanged && reply.ParseFromString(*exchanged);
    }
    req_.Clear();
    co_return co_await finish(ended(exchanged), replied ? &reply : nullptr);
  }

 private:
  Response canceled() const { return fail("task canceled: " + cancel_->reason()); }

  // An idle worker, or the one handed over while waiting; the failure otherwise.
  awaitable<std::optional<Response>> acquire() {
    // The QoS deadline counts from now (queueing included); --timeout only while running.
    auto now_sys = std::chrono::system_clock::now();
    if (task_.deadline) {
      if (*task_.deadline <= now_sys) co_return fail("deadline exceeded");
      deadline_ =
          steady::now() + std::chrono::duration_cast<steady::duration>(*task_.deadline - now_sys);
    }
    w_ = s_->take_idle(module_);
    if (w_) {
      w_->state = Worker::State::kBusy;
      co_return std::nullopt;
    }
    if (task_.immediate) co_return fail("qos: no idle workers for immediate mode");
    if (s_->hopeless()) co_return fail("no worker available: " + s_->last_start_error);
    if (s_->waiters.size() >= s_->options.max_waiting)
      co_return fail("provider overloaded: too many tasks waiting for a worker");
    co_return co_await wait_for_worker();
  }

  awaitable<std::optional<Response>> wait_for_worker() {
    OneShotEvent never(s_->ex);
    auto cancel_wait = [&]() { return cancel_ ? cancel_->event().wait() : never.wait(); };
    auto waiter = std::make_shared<Waiter>(s_->ex);
    s_->waiters.push_back(waiter);
    asio::steady_timer t(s_->ex, deadline_.value_or(steady::time_point::max()));
    co_await (waiter->ready.wait() || cancel_wait() || t.async_wait(asio::use_awaitable));
    std::erase(s_->waiters, waiter);
    w_ = waiter->worker;
    if (!w_) {
      if (!waiter->error.empty()) co_return fail(waiter->error);
      if (cancel_ && cancel_->cancelled()) co_return canceled();
      co_return fail("deadline exceeded");
    }
    if (cancel_ && cancel_->cancelled()) {  // both happened; give the worker back
      s_->hand_over(w_);
      co_return canceled();
    }
    co_return std::nullopt;
  }

  // The worker may run as a user that cannot open our cache, so the module and the rootfs go to
  // it as open descriptors (closed here once sent: the message holds its own references). The
  // module only when the worker has not loaded it yet (as far as we know: see module_missing).
  std::optional<Response> open_module() {
    module_file_.fd = ::open(module_.c_str(), O_RDONLY | O_CLOEXEC);
    if (module_file_.fd >= 0) return std::nullopt;
    s_->release(w_, true, 0);
    return fail("provider cannot open its compiled module: " + std::string(std::strerror(errno)));
  }

  // The RunRequest and its frame.
  std::optional<Response> prepare() {
    if (!w_->modules.count(module_)) {
      if (auto failed = open_module()) return failed;
    }
    req_.set_module_key(task_.module.filename().string());
    *req_.mutable_params() = std::move(task_.params);
    req_.mutable_params()->clear_binary();
    req_.mutable_params()->clear_rootfs();
    if (task_.rootfs_zip) {
      req_.set_rootfs_zip(std::move(*task_.rootfs_zip));
    } else if (task_.rootfs_path) {
      rootfs_file_.fd = ::open(task_.rootfs_path->c_str(), O_RDONLY | O_CLOEXEC);
      if (rootfs_file_.fd < 0) {
        s_->release(w_, true, 0);
        return fail("rootfs: cannot open cached archive: " + std::string(std::strerror(errno)));
      }
      req_.set_rootfs_attached(true);
    }
    const PoolOptions& o = s_->options;
    req_.set_memory_limit(o.memory_limit);
    req_.set_fs_limit(o.fs_limit);
    output_limit_ = std::min(task_.output_limit.value_or(o.output_limit), o.output_limit);
    req_.set_output_limit(output_limit_);
    if (task_.deadline) req_.set_deadline_unixnano(unix_nanos(*task_.deadline));
    req_.set_module_attached(module_file_.fd >= 0);
    return encode();
  }

  std::optional<Response> encode() {
    try {
      frame_ = worker::encode_frame(req_);
    } catch (const std::exception& e) {  // too large for the channel, or out of memory
      s_->release(w_, true, 0);
      return fail(std::string("task too large for a worker: ") + e.what());
    }
    return std::nullopt;
  }

  // Time limit while running: the earlier of --timeout and the deadline. A cancel or the time
  // limit interrupts the exchange through a cancellation signal on its channel operations
  // (cheaper per task than racing the exchange against both in a parallel group); the flags then
  // say which one it was.
  void arm_limits() {
    steady::time_point limit = steady::time_point::max();
    if (s_->options.timeout) limit = steady::now() + *s_->options.timeout;
    if (deadline_ && *deadline_ <= limit) {
      limit = *deadline_;
      limit_is_deadline_ = true;
    }
    timer_.emplace(s_->ex, limit);
    if (limit != steady::time_point::max()) {
      timer_->async_wait([interruption = interruption_](boost::system::error_code ec) {
        if (!ec) interruption->interrupt(interruption->timed_out);
      });
    }
    if (cancel_) {
      interruption_->canceled = cancel_->cancelled();
      cancel_->on_cancel(
          [interruption = interruption_] { interruption->interrupt(interruption->canceled); });
    }
    armed_ = true;
  }

  // Sends the frame (with the descriptors) and reads the reply; nullopt when the exchange broke
  // or was interrupted.
  awaitable<std::optional<std::string>> exchange() {
    if (interruption_->canceled || interruption_->timed_out) co_return std::nullopt;
    // Stamped before writing: the worker may read and stamp event 34 before we resume.
    std::int64_t posted = unix_nanos(std::chrono::system_clock::now());
    std::vector<int> fds;
    if (module_file_.fd >= 0) fds.push_back(module_file_.fd);
    if (rootfs_file_.fd >= 0) fds.push_back(rootfs_file_.fd);
    std::string_view header(frame_.data(), worker::kFrameHeaderSize);
    if (!worker::send_frame_header_with_fds(w_->channel->native_handle(), header, fds))
      co_return std::nullopt;
    boost::system::error_code ec;
    co_await asio::async_write(
        *w_->channel, asio::buffer(frame_.data() + header.size(), frame_.size() - header.size()),
        asio::bind_cancellation_slot(interruption_->signal.slot(),
                                     asio::redirect_error(asio::use_awaitable, ec)));
    if (ec) co_return std::nullopt;
    add_trace(task_.trace, v1::Task::TraceEvent::ProviderPostToWorker, posted);
    auto max_reply = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(worker::kMaxFrameSize, output_limit_ + (16u << 20)));
    co_return co_await read_frame(*w_->channel, max_reply, interruption_->signal.slot());
  }

  Ended ended(const std::optional<std::string>& r) const {
    if (r) return Ended::kExchanged;
    return interruption_->canceled    ? Ended::kCanceled
           : interruption_->timed_out ? Ended::kTimedOut
                                      : Ended::kExchanged;
  }

  // The Response for how the exchange ended; `reply` is the worker's parsed reply, if any.
  awaitable<Response> finish(Ended how, worker::RunReply* reply) {
    if (how == Ended::kCanceled) {
      s_->release(w_, false, 0);
      co_return canceled();
    }
    if (how == Ended::kTimedOut) {
      s_->release(w_, false, 0);
      if (limit_is_deadline_) co_return fail("deadline exceeded");
      co_return fail("task timed out after " + format_duration(*s_->options.timeout));
    }
    if (!reply || reply->module_missing()) co_return co_await crashed();
    add_trace(task_.trace, v1::Task::TraceEvent::ProviderWorkerPrepare, reply->prepared_unixnano());
    add_trace(task_.trace, v1::Task::TraceEvent::ProviderWorkerExecute, reply->started_unixnano());
    add_trace(task_.trace, v1::Task::TraceEvent::ProviderWorkerDone, reply->finished_unixnano());
    if (w_->modules.size() >= kMaxRememberedModules) w_->modules.clear();
    w_->modules.insert(module_);
    s_->release(w_, true, reply->rss_bytes());
    co_return std::move(*reply->mutable_response());
  }

  // The worker died mid-task (or broke the protocol); report how it ended.
  awaitable<Response> crashed() {
    asio::steady_timer grace(s_->ex, kCrashGrace);
    co_await (w_->exited.wait() || grace.async_wait(asio::use_awaitable));
    bool exited = w_->exited.is_set();
    s_->release(w_, false, 0);
    if (s_->closing) co_return fail("task canceled: provider shutting down");
    if (!exited) co_return fail("worker crashed: broken channel");
    if (w_->status.signaled)
      co_return fail(fmt::format("worker crashed: signal {}", w_->status.code));
    co_return fail("worker crashed: " + w_->status.describe());
  }

  std::shared_ptr<PoolState> s_;
  TaskRun& task_;
  CancelToken* cancel_;
  const std::string module_;
  std::shared_ptr<Worker> w_;
  std::optional<steady::time_point> deadline_;
  OpenFile module_file_, rootfs_file_;
  worker::RunRequest req_;
  std::string frame_;
  std::uint64_t output_limit_ = 0;
  bool limit_is_deadline_ = false;
  std::shared_ptr<Interruption> interruption_ = std::make_shared<Interruption>();
  std::optional<asio::steady_timer> timer_;
  bool armed_ = false;
};

}  // namespace

awaitable<v1::Task::Wasip1::Response> WorkerPool::run(TaskRun task, CancelToken* cancel) {
  TaskExchange exchange(impl_, task, cancel);
  co_return co_await exchange.run();
}

}  // namespace wasimoff::pool
