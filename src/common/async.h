// Asio coroutine helpers shared by broker, provider and client.
//
// Threading model: each process runs its network code on one io_context thread ("the loop");
// objects touched by coroutines on the loop need no locks. Blocking work (disk, large hashing)
// is moved off the loop with offload().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace wasimoff {

namespace asio = boost::asio;
using asio::awaitable;

// A one-shot event for coroutines on one executor. set() wakes every current and future waiter.
// Waiting is cancellable (e.g. as the losing branch of `a || b`). Not thread-safe.
class OneShotEvent {
 public:
  explicit OneShotEvent(asio::any_io_executor ex)
      : timer_(std::move(ex), std::chrono::steady_clock::time_point::max()) {}

  void set() {
    if (set_) return;
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const { return set_; }

  awaitable<void> wait() {
    while (!set_) {
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!set_) {
        // Cancelled from outside (not by set()): propagate by returning; the caller's
        // cancellation state decides what happens next.
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return;
      }
    }
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

// Sleeps for `d` (cancellable).
inline awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Runs the blocking callable `fn` on `pool` and resumes the caller on its own executor with the
// result (exceptions are rethrown in the caller).
template <typename Fn>
auto offload(asio::thread_pool& pool, Fn fn) -> awaitable<std::invoke_result_t<Fn>> {
  using R = std::invoke_result_t<Fn>;
  co_return co_await asio::co_spawn(
      pool, [fn = std::move(fn)]() mutable -> awaitable<R> { co_return fn(); }, asio::use_awaitable);
}

// Runs `work` while keeping `owner` alive. Use this instead of a capturing lambda coroutine:
// `[self]() -> awaitable<void> {...}()` is a bug, because the lambda (and with it `self`) is a
// temporary destroyed while the coroutine is still suspended; coroutine *parameters*, unlike
// lambda captures, are copied into the coroutine frame.
template <typename T>
awaitable<void> hold([[maybe_unused]] std::shared_ptr<T> owner, awaitable<void> work) {
  co_await std::move(work);
}

// Detached spawn that logs (instead of terminating on) an escaping exception.
void spawn_logged(asio::any_io_executor ex, awaitable<void> work, const char* what);

}  // namespace wasimoff
