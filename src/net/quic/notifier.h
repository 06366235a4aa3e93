// A multi-shot wake-up for coroutines on one executor: wait() suspends until the next notify()
// (or until the caller's cancellation / the given timeout). Waiters re-check their condition
// after waking, so spurious wake-ups are harmless. Not thread-safe.
#pragma once

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "common/async.h"

namespace wasimoff::quic {

class Notifier {
 public:
  explicit Notifier(asio::any_io_executor ex)
      : timer_(std::move(ex), std::chrono::steady_clock::time_point::max()) {}

  // Wakes every current waiter. The timer's expiry never changes, so a waiter cannot cancel
  // another one.
  void notify() { timer_.cancel(); }

  // Returns after notify(), or after `timeout`, whichever comes first.
  awaitable<void> wait(std::chrono::steady_clock::duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer deadline(co_await asio::this_coro::executor, timeout);
    boost::system::error_code ec1, ec2;
    co_await (timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec1)) ||
              deadline.async_wait(asio::redirect_error(asio::use_awaitable, ec2)));
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace wasimoff::quic
