#include "common/clock.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>

namespace wasimoff {

namespace {

class RealClock final : public Clock {
 public:
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  SystemTime system_now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

Clock& Clock::real() {
  static RealClock clock;
  return clock;
}

Clock::SteadyTime Clock::steady_after(Duration d) const {
  const SteadyTime now = steady_now();
  if (d > SteadyTime::max() - now) return SteadyTime::max();
  return now + d;
}

void Clock::arm(Timer& timer, SteadyTime at) {
  timer.timer_.expires_at(at);
}

void Clock::disarm(Timer&) {}

awaitable<void> Clock::sleep_until(SteadyTime t) {
  Timer timer(co_await asio::this_coro::executor, *this);
  timer.expires_at(t);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

awaitable<void> Clock::sleep_for(Duration d) {
  co_await sleep_until(steady_after(d));
}

ManualClock::ManualClock(SystemTime system_start)
    : now_(SteadyTime() + std::chrono::hours(24)), system_(system_start) {}

ManualClock::~ManualClock() {
  // Timers must not outlive their clock; forget the ones that do rather than dangle.
  assert(timers_.empty());
}

void ManualClock::advance(Duration d) {
  assert(d.count() >= 0);
  const SteadyTime target = now_ + d;
  system_ += std::chrono::duration_cast<SystemTime::duration>(d);
  now_ = target;
  // Earliest first; a woken timer's completion is only posted, so nothing re-arms meanwhile.
  while (!timers_.empty() && timers_.begin()->first <= target) {
    Timer* t = timers_.begin()->second;
    timers_.erase(timers_.begin());
    t->fire();
  }
}

std::optional<Clock::SteadyTime> ManualClock::next_wake() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

void ManualClock::arm(Timer& timer, SteadyTime at) {
  timer.fired_ = std::make_shared<bool>(false);
  timer.timer_.expires_at(SteadyTime::max());  // ends pending waits (aborted), waits for fire()
  if (at <= now_) {
    timer.fire();
    return;
  }
  timers_.emplace(at, &timer);
}

void ManualClock::disarm(Timer& timer) {
  auto [first, last] = timers_.equal_range(timer.expiry_);
  for (auto it = first; it != last; ++it) {
    if (it->second == &timer) {
      timers_.erase(it);
      return;
    }
  }
}

}  // namespace wasimoff
