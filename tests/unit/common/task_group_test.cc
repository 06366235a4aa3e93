// TaskGroup: children are awaited, cancelled on request or when the group goes, and a child's
// exception stays with that child.
#include "common/task_group.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <stdexcept>

namespace wasimoff {
namespace {

// Waits for `gate`, then counts itself finished.
awaitable<void> wait_then_count(OneShotEvent& gate, int& finished) {
  co_await gate.wait();
  ++finished;
}

// Suspends "forever" (an hour) and records whether it was woken by cancellation.
awaitable<void> park(int& aborted) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  try {
    co_await t.async_wait(asio::use_awaitable);
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) ++aborted;
    throw;
  }
}

TEST(TaskGroup, JoinReturnsOnceEveryChildHasFinished) {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  OneShotEvent gate(io.get_executor());
  int finished = 0;
  bool joined = false;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(group.spawn(wait_then_count(gate, finished), "child"));
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        co_await group.join();
        joined = true;
        EXPECT_EQ(finished, 3);
      },
      asio::detached);
  io.poll();
  EXPECT_FALSE(joined);  // the children are still waiting for the gate
  EXPECT_EQ(group.size(), 3u);
  gate.set();
  io.run();
  EXPECT_TRUE(joined);
  EXPECT_EQ(group.size(), 0u);
}

TEST(TaskGroup, CancelWakesSuspendedChildrenAndRefusesNewOnes) {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  int aborted = 0;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(group.spawn(park(aborted), "parked"));
  bool joined = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        group.cancel();
        co_await group.join();
        joined = true;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));  // bounded: an unwoken child would hold it for an hour
  EXPECT_TRUE(joined);
  EXPECT_EQ(aborted, 4);
  EXPECT_TRUE(group.cancelled());
  int never = 0;
  EXPECT_FALSE(group.spawn(park(never), "late"));
}

TEST(TaskGroup, DestroyingTheGroupCancelsItsChildren) {
  asio::io_context io;
  int aborted = 0;
  {
    TaskGroup group(io.get_executor());
    ASSERT_TRUE(group.spawn(park(aborted), "parked"));
    io.poll();  // the child is now suspended in its timer
  }
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(aborted, 1);
  EXPECT_TRUE(io.stopped());  // nothing left behind
}

TEST(TaskGroup, AChildsExceptionDoesNotDisturbTheOthers) {
  asio::io_context io;
  TaskGroup group(io.get_executor());
  OneShotEvent gate(io.get_executor());
  int finished = 0;
  auto thrower = []() -> awaitable<void> {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    throw std::runtime_error("child failed");
  };
  ASSERT_TRUE(group.spawn(thrower(), "thrower"));
  ASSERT_TRUE(group.spawn(wait_then_count(gate, finished), "waiter"));
  io.poll();
  EXPECT_EQ(group.size(), 1u);  // the thrower is gone, the waiter still runs
  gate.set();
  io.run();
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(group.size(), 0u);
}

}  // namespace
}  // namespace wasimoff
