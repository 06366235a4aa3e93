// An injectable clock: what time it is and waiting until a time, so that code with timeouts,
// back-offs and deadlines can be tested without waiting for real time.
//
// Contract:
// - steady_now() is monotonic (for intervals and timers); system_now() is the wall clock (for
//   deadlines, which are system_clock time points in this code base).
// - Clock::Timer is a steady_timer on a Clock: expires_at()/expires_after() arm it (and end
//   pending waits with operation_aborted, as asio does), async_wait() completes with success once
//   the clock reaches the expiry, with operation_aborted when cancel() is called, the timer is
//   re-armed or destroyed, or the wait's cancellation slot is emitted (e.g. the losing branch of
//   asio's `a || b`). Completions go through the waiter's associated executor, never inline.
// - sleep_until()/sleep_for() are awaitables over such a timer: they return when the time comes
//   or, early and without throwing, when the awaiting coroutine is cancelled through its
//   cancellation slot (so they work as a branch of `||` exactly like common/async.h's sleep_for).
// - Clock::real() is the process-wide real clock (asio::steady_timer on std::chrono::steady_clock,
//   std::chrono::system_clock). Thread-safe; it has no state.
// - ManualClock (tests): time stands still until advance(d) / set_system_time(t). advance() wakes
//   every timer whose expiry has come, in expiry order (ties in arming order), by posting their
//   completions to the waiters' executors; the woken code runs when the test runs its io_context
//   and then sees the advanced time. Not thread-safe: use it on one loop. It must outlive its
//   timers.
#pragma once

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "common/async.h"

namespace wasimoff {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using SystemTime = std::chrono::system_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;

  virtual SteadyTime steady_now() const = 0;
  virtual SystemTime system_now() const = 0;

  // The process-wide real clock.
  static Clock& real();

  // `now + d`, saturated at SteadyTime::max() (a "forever" duration does not overflow).
  SteadyTime steady_after(Duration d) const;

  class Timer;

  // Completes at `t` (at once if it has passed), or early when the coroutine is cancelled.
  awaitable<void> sleep_until(SteadyTime t);
  awaitable<void> sleep_for(Duration d);

 protected:
  friend class Timer;
  // Arms `timer` for `at` (its asio timer's pending waits are already cancelled by the caller's
  // expires_at on it). The real clock sets the asio timer's expiry; a manual clock registers it.
  virtual void arm(Timer& timer, SteadyTime at);
  // `timer` is re-armed or destroyed: forget it.
  virtual void disarm(Timer& timer);
};

class Clock::Timer {
 public:
  Timer(asio::any_io_executor ex, Clock& clock)
      : timer_(std::move(ex), SteadyTime::max()), clock_(&clock) {}
  explicit Timer(asio::any_io_executor ex) : Timer(std::move(ex), Clock::real()) {}
  ~Timer() { clock_->disarm(*this); }
  // A manual clock keeps a pointer to the timer: it stays where it was created.
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  Clock& clock() const { return *clock_; }
  SteadyTime expiry() const { return expiry_; }

  // Sets the expiry; pending waits complete with operation_aborted.
  void expires_at(SteadyTime t) {
    clock_->disarm(*this);
    fired_.reset();
    expiry_ = t;
    clock_->arm(*this, t);
  }
  void expires_after(Duration d) { expires_at(clock_->steady_after(d)); }
  // Pending waits complete with operation_aborted; the expiry stays.
  void cancel() { timer_.cancel(); }

  // Completion signature void(boost::system::error_code).
  template <typename Token>
  auto async_wait(Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) {
          auto slot = asio::get_associated_cancellation_slot(handler);
          auto ex = asio::get_associated_executor(handler, timer_.get_executor());
          timer_.async_wait(asio::bind_cancellation_slot(
              slot, asio::bind_executor(ex, [h = std::move(handler),
                                             fired = fired_](boost::system::error_code ec) mutable {
                // A manual clock wakes a timer by aborting its wait: that is an expiry.
                if (ec == asio::error::operation_aborted && fired && *fired) ec = {};
                std::move(h)(ec);
              })));
        },
        token);
  }

 private:
  friend class Clock;
  friend class ManualClock;
  // Manual clocks: the expiry has come. Ends pending waits (as expiries) and lets later waits
  // complete at once.
  void fire() {
    if (!fired_) fired_ = std::make_shared<bool>();
    *fired_ = true;
    timer_.expires_at(SteadyTime::min());
  }

  asio::steady_timer timer_;
  Clock* clock_;
  SteadyTime expiry_ = SteadyTime::max();
  // Set by fire() for the waits started since the last expires_at(); null with the real clock.
  std::shared_ptr<bool> fired_;
};

// A clock for tests: time only moves when told to (see the contract above).
class ManualClock final : public Clock {
 public:
  // Starts at an arbitrary steady time and at `system_start` on the wall clock.
  explicit ManualClock(SystemTime system_start = std::chrono::system_clock::now());
  ~ManualClock() override;

  SteadyTime steady_now() const override { return now_; }
  SystemTime system_now() const override { return system_; }

  // Moves both clocks forward by `d` (≥ 0) and wakes every timer whose expiry has come.
  void advance(Duration d);
  // Moves the wall clock only (deadlines); no timer is affected.
  void set_system_time(SystemTime t) { system_ = t; }

  // Timers waiting for a time (armed, not yet expired), and the earliest of their expiries.
  std::size_t sleepers() const { return timers_.size(); }
  std::optional<SteadyTime> next_wake() const;

 protected:
  void arm(Timer& timer, SteadyTime at) override;
  void disarm(Timer& timer) override;

 private:
  SteadyTime now_;
  SystemTime system_;
  std::multimap<SteadyTime, Timer*> timers_;
};

}  // namespace wasimoff
