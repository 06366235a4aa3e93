// Clock: the real clock's sleeps, and ManualClock (time moves only with advance(); sleepers wake
// in time order; cancellation through `||` works as with common/async.h's sleep_for).
#include "common/clock.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

namespace wasimoff {
namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// Runs every handler that is ready; time does not move.
void drain(asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(RealClock, SleepsForRealAndIsCancelledByTheOtherBranch) {
  asio::io_context io;
  Clock& clock = Clock::real();
  auto t0 = clock.steady_now();
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await clock.sleep_for(5ms);
        EXPECT_GE(clock.steady_now() - t0, 5ms);
        // The losing branch of || is cancelled: this returns long before an hour.
        OneShotEvent e(co_await asio::this_coro::executor);
        e.set();
        co_await (clock.sleep_for(1h) || e.wait());
        done = true;
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_TRUE(done);
  EXPECT_LT(clock.steady_now() - t0, 10s);
  auto diff = clock.system_now() - std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(diff), 1s);
}

TEST(ManualClock, TimeMovesOnlyWithAdvance) {
  ManualClock clock(std::chrono::system_clock::time_point() + 1000h);
  auto steady = clock.steady_now();
  auto system = clock.system_now();
  EXPECT_EQ(system, std::chrono::system_clock::time_point() + 1000h);
  clock.advance(1500ms);
  EXPECT_EQ(clock.steady_now() - steady, 1500ms);
  EXPECT_EQ(clock.system_now() - system, 1500ms);
  clock.set_system_time(system - 1h);  // the wall clock may jump; the steady one does not
  EXPECT_EQ(clock.system_now(), system - 1h);
  EXPECT_EQ(clock.steady_now() - steady, 1500ms);
  EXPECT_EQ(clock.steady_after(Clock::Duration::max()), Clock::SteadyTime::max());
}

TEST(ManualClock, SleepersWakeAtTheirTimeInTimeOrder) {
  asio::io_context io;
  ManualClock clock;
  const auto start = clock.steady_now();
  std::vector<std::string> woke;
  auto sleeper = [&](std::string name, Clock::Duration d) -> awaitable<void> {
    co_await clock.sleep_for(d);
    EXPECT_GE(clock.steady_now() - start, d) << name;
    woke.push_back(name);
  };
  asio::co_spawn(io, sleeper("c", 30ms), asio::detached);
  asio::co_spawn(io, sleeper("a", 10ms), asio::detached);
  asio::co_spawn(io, sleeper("b1", 20ms), asio::detached);
  asio::co_spawn(io, sleeper("b2", 20ms), asio::detached);
  asio::co_spawn(io, sleeper("now", 0ms), asio::detached);
  drain(io);
  EXPECT_EQ(woke, std::vector<std::string>{"now"});
  EXPECT_EQ(clock.sleepers(), 4u);
  EXPECT_EQ(clock.next_wake(), start + 10ms);

  clock.advance(10ms - 1ns);  // not before its time
  drain(io);
  EXPECT_EQ(woke, std::vector<std::string>{"now"});
  clock.advance(1ns);
  drain(io);
  EXPECT_EQ(woke, (std::vector<std::string>{"now", "a"}));
  // One advance past several times wakes them in time order (ties in arrival order).
  clock.advance(1h);
  drain(io);
  EXPECT_EQ(woke, (std::vector<std::string>{"now", "a", "b1", "b2", "c"}));
  EXPECT_EQ(clock.sleepers(), 0u);
  EXPECT_FALSE(clock.next_wake().has_value());
}

TEST(ManualClock, CancellationThroughOrEndsTheSleepEarly) {
  asio::io_context io;
  ManualClock clock;
  OneShotEvent event(io.get_executor());
  int stage = 0;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto r = co_await (clock.sleep_for(1h) || event.wait());
        EXPECT_EQ(r.index(), 1u);  // the event won
        stage = 1;
        auto r2 = co_await (clock.sleep_for(5ms) || event.wait());
        EXPECT_EQ(r2.index(), 1u);  // set already: the sleep loses at once
        OneShotEvent never(co_await asio::this_coro::executor);
        auto r3 = co_await (clock.sleep_for(5ms) || never.wait());
        EXPECT_EQ(r3.index(), 0u);  // the sleep wins when its time comes
        stage = 2;
      },
      asio::detached);
  drain(io);
  EXPECT_EQ(clock.sleepers(), 1u);
  event.set();
  drain(io);
  EXPECT_EQ(stage, 1);
  EXPECT_EQ(clock.sleepers(), 1u);  // the third sleep
  clock.advance(5ms);
  drain(io);
  EXPECT_EQ(stage, 2);
  EXPECT_EQ(clock.sleepers(), 0u);  // a cancelled sleep leaves nothing behind
}

TEST(ManualClock, TimersCanBeRearmedAndCancelled) {
  asio::io_context io;
  ManualClock clock;
  Clock::Timer timer(io.get_executor(), clock);
  std::vector<boost::system::error_code> results;
  auto wait = [&] {
    timer.async_wait([&](boost::system::error_code ec) { results.push_back(ec); });
  };

  timer.expires_after(10ms);
  wait();
  timer.expires_after(20ms);  // re-arming aborts the pending wait
  wait();
  drain(io);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], asio::error::operation_aborted);
  clock.advance(10ms);
  drain(io);
  EXPECT_EQ(results.size(), 1u);
  clock.advance(10ms);
  drain(io);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[1]);
  wait();  // already expired: completes at once
  drain(io);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[2]);

  timer.expires_after(10ms);
  wait();
  timer.cancel();
  drain(io);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[3], asio::error::operation_aborted);
  wait();  // cancel keeps the expiry
  clock.advance(10ms);
  drain(io);
  ASSERT_EQ(results.size(), 5u);
  EXPECT_FALSE(results[4]);
}

TEST(ManualClock, ADestroyedTimerIsForgotten) {
  asio::io_context io;
  ManualClock clock;
  {
    Clock::Timer timer(io.get_executor(), clock);
    timer.expires_after(1s);
    EXPECT_EQ(clock.sleepers(), 1u);
  }
  EXPECT_EQ(clock.sleepers(), 0u);
  clock.advance(2s);
  drain(io);
}

}  // namespace
}  // namespace wasimoff
