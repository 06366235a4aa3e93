// OneShotEvent: waiters and subscriptions (the callback form the Broker uses per task).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "common/async.h"

namespace wasimoff {
namespace {

TEST(OneShotEvent, SubscriptionsRunOnceInsideSet) {
  asio::io_context io;
  OneShotEvent e(io.get_executor());
  std::vector<int> ran;
  OneShotEvent::Subscription a(e, [&] { ran.push_back(1); });
  OneShotEvent::Subscription b(e, [&] { ran.push_back(2); });
  EXPECT_TRUE(ran.empty());
  e.set();
  EXPECT_EQ(ran.size(), 2u);
  e.set();  // idempotent: nothing runs twice
  EXPECT_EQ(ran.size(), 2u);
}

TEST(OneShotEvent, ADestroyedSubscriptionNeverRuns) {
  asio::io_context io;
  OneShotEvent e(io.get_executor());
  int ran = 0;
  {
    OneShotEvent::Subscription gone(e, [&] { ++ran; });
  }
  std::optional<OneShotEvent::Subscription> reset;
  reset.emplace(e, [&] { ++ran; });
  reset.reset();
  OneShotEvent::Subscription kept(e, [&] { ran += 10; });
  e.set();
  EXPECT_EQ(ran, 10);
}

TEST(OneShotEvent, SubscribingToASetEventRunsAtOnce) {
  asio::io_context io;
  OneShotEvent e(io.get_executor());
  e.set();
  bool ran = false;
  OneShotEvent::Subscription s(e, [&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(OneShotEvent, ACallbackMayDestroyOtherSubscriptions) {
  asio::io_context io;
  OneShotEvent e(io.get_executor());
  int ran = 0;
  // Subscriptions run newest first; the first to run destroys the other one.
  auto victim = std::make_unique<OneShotEvent::Subscription>(e, [&] { ran += 100; });
  OneShotEvent::Subscription killer(e, [&] {
    ++ran;
    victim.reset();
  });
  e.set();
  EXPECT_EQ(ran, 1);
}

TEST(OneShotEvent, SubscriptionsOutlivingTheEventAreHarmless) {
  asio::io_context io;
  int ran = 0;
  std::optional<OneShotEvent::Subscription> s;
  {
    OneShotEvent e(io.get_executor());
    s.emplace(e, [&] { ++ran; });
  }
  s.reset();  // must not touch the destroyed event
  EXPECT_EQ(ran, 0);
}

awaitable<void> wait_and_count(OneShotEvent* e, int* woken) {
  co_await e->wait();
  ++*woken;
}

TEST(OneShotEvent, WaitersWakeOnSet) {
  asio::io_context io;
  OneShotEvent e(io.get_executor());
  int woken = 0;
  for (int i = 0; i < 3; ++i)
    asio::co_spawn(io, wait_and_count(&e, &woken), [](std::exception_ptr) {});
  io.poll();
  EXPECT_EQ(woken, 0);
  e.set();
  io.poll();
  EXPECT_EQ(woken, 3);
}

}  // namespace
}  // namespace wasimoff
