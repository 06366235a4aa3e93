// Asio coroutine helpers shared by broker, provider and client.
//
// Threading model: each process runs its network code on one io_context thread ("the loop");
// objects touched by coroutines on the loop need no locks. Blocking work (disk, large hashing)
// is moved off the loop with offload().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace wasimoff {

namespace asio = boost::asio;
using asio::awaitable;

// A one-shot event for coroutines on one executor. set() wakes every current and future waiter.
// Waiting is cancellable (e.g. as the losing branch of `a || b`). Not thread-safe.
class OneShotEvent {
 public:
  explicit OneShotEvent(asio::any_io_executor ex)
      : timer_(std::move(ex), std::chrono::steady_clock::time_point::max()) {}
  ~OneShotEvent() {
    while (subscribers_) subscribers_->unlink();
  }
  // Subscriptions point at the event: it stays where it was created.
  OneShotEvent(const OneShotEvent&) = delete;
  OneShotEvent& operator=(const OneShotEvent&) = delete;

  // Runs `callback` once, synchronously inside set(), unless the Subscription is destroyed first
  // (RAII; O(1) to add and remove). Cheaper than a coroutine waiting beside each other wait, e.g.
  // one per task of a connection. The callback must not destroy the event.
  class Subscription {
   public:
    Subscription(OneShotEvent& event, std::function<void()> callback)
        : callback_(std::move(callback)) {
      if (event.set_) {
        auto run = std::move(callback_);
        run();
        return;
      }
      event_ = &event;
      next_ = event.subscribers_;
      if (next_) next_->prev_ = this;
      event.subscribers_ = this;
    }
    ~Subscription() { unlink(); }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    friend class OneShotEvent;
    void unlink() {
      if (!event_) return;
      if (prev_)
        prev_->next_ = next_;
      else
        event_->subscribers_ = next_;
      if (next_) next_->prev_ = prev_;
      event_ = nullptr;
      prev_ = next_ = nullptr;
    }
    OneShotEvent* event_ = nullptr;
    std::function<void()> callback_;
    Subscription* prev_ = nullptr;
    Subscription* next_ = nullptr;
  };

  void set() {
    if (set_) return;
    set_ = true;
    timer_.cancel();
    // A callback may destroy its own or other subscriptions: take one at a time off the list.
    while (subscribers_) {
      Subscription* s = subscribers_;
      s->unlink();
      auto run = std::move(s->callback_);
      run();
    }
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
  Subscription* subscribers_ = nullptr;
};

// Sleeps for `d` (cancellable).
inline awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Runs the blocking callable `fn` on `pool` and resumes the caller on its own executor with the
// result (exceptions are rethrown in the caller).
//
// Pass a *named* callable (`auto job = [..]{..}; co_await offload(pool, std::move(job));`):
// GCC 12 destroys a capturing lambda (or any braced aggregate) written directly as a by-value
// argument of a coroutine call inside a co_await expression twice. `fn` and the result live in this
// coroutine's frame, so nothing is copied into a detached lambda coroutine (GCC 12 mishandles
// captures of coroutine lambdas spawned with co_spawn: it destroyed them twice here).
template <typename Fn>
auto offload(asio::thread_pool& pool, Fn fn) -> awaitable<std::invoke_result_t<Fn&>> {
  using R = std::invoke_result_t<Fn&>;
  using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  std::optional<Stored> value;
  std::exception_ptr error;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        asio::post(pool, [&, handler = std::move(handler)]() mutable {
          try {
            if constexpr (std::is_void_v<R>) {
              fn();
              value.emplace();
            } else {
              value.emplace(fn());
            }
          } catch (...) {
            error = std::current_exception();
          }
          auto resume_on = asio::get_associated_executor(handler);
          asio::post(resume_on, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*value);
}

// Runs `work` while keeping `owner` alive. Use this instead of a capturing lambda coroutine:
// `[self]() -> awaitable<void> {...}()` is a bug, because the lambda (and with it `self`) is a
// temporary destroyed while the coroutine is still suspended; coroutine *parameters*, unlike
// lambda captures, are copied into the coroutine frame.
template <typename T>
awaitable<void> hold([[maybe_unused]] std::shared_ptr<T> owner, awaitable<void> work) {
  co_await std::move(work);
}

// The outcome of an awaitable as a value: its result or the exception it threw.
template <typename T>
struct Settled {
  std::optional<T> value;
  std::exception_ptr error;
  // The result, or rethrows the exception.
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

// Runs `work` and hands back its outcome as a value. Use it for an operand of `a || b` that can
// fail: Asio's operator|| completes when one operand *succeeds*, so an operand that throws leaves
// it waiting for the other one (possibly forever). (A struct, not a variant: operator|| would
// flatten a variant's alternatives into its own.)
template <typename T>
awaitable<Settled<T>> settle(awaitable<T> work) {
  Settled<T> out;
  try {
    out.value.emplace(co_await std::move(work));
  } catch (...) {
    out.error = std::current_exception();
  }
  co_return out;
}

// Detached spawn that logs (instead of terminating on) an escaping exception.
void spawn_logged(asio::any_io_executor ex, awaitable<void> work, const char* what);

}  // namespace wasimoff
