// AdmissionGate (issue 11): bounded admissions in flight, FIFO turns, bounded waiting. Time is a
// ManualClock: the wait bound is checked to the nanosecond, and nothing sleeps for real.
#include "broker/providers/admission_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace wasimoff::broker {
namespace {

using namespace std::chrono_literals;

struct Admissions {
  ManualClock clock;  // outlives the io_context (its coroutines' timers)
  asio::io_context io;
  AdmissionGate gate{io.get_executor(), clock};
  std::vector<std::optional<AdmissionGate::Ticket>> tickets;  // by connection
  std::vector<std::string> refused;                           // by connection ("" = admitted)
  std::vector<std::string> codes;                             // refusals' status codes
  std::vector<int> order;                                     // connections in admission order
  std::vector<std::unique_ptr<OneShotEvent>> gone;

  // Lets `d` pass on the clock, then runs the loop until nothing is ready.
  void run(std::chrono::nanoseconds d = 0ms) {
    clock.advance(d);
    io.restart();
    io.poll();
  }

  // Starts connection i's wait for a turn.
  void connect() {
    const int i = static_cast<int>(tickets.size());
    tickets.emplace_back();
    refused.emplace_back();
    codes.emplace_back();
    gone.push_back(std::make_unique<OneShotEvent>(io.get_executor()));
    asio::co_spawn(
        io,
        [this, i]() -> awaitable<void> {
          auto r = co_await gate.acquire(*gone[i]);
          if (!r) {
            refused[i] = r.error().message();
            codes[i] = r.error().code_name();
          } else {
            order.push_back(i);
            tickets[i].emplace(std::move(*r));
          }
        },
        asio::detached);
    run();
  }
  void finish(int i) {
    tickets[i].reset();
    run();
  }
};

TEST(AdmissionGate, BoundsInFlightAndAdmitsInArrivalOrder) {
  Admissions a;
  a.gate.options.concurrency = 2;
  for (int i = 0; i < 6; ++i) a.connect();
  EXPECT_EQ(a.order, (std::vector<int>{0, 1}));
  EXPECT_EQ(a.gate.in_flight(), 2u);
  EXPECT_EQ(a.gate.waiting(), 4u);
  a.finish(1);
  a.finish(0);
  EXPECT_EQ(a.order, (std::vector<int>{0, 1, 2, 3}));
  a.gone[4]->set();  // connection 4 goes away while waiting: it gives up its place
  a.run();
  a.finish(2);
  EXPECT_EQ(a.order, (std::vector<int>{0, 1, 2, 3, 5}));
  EXPECT_EQ(a.refused[4].rfind("admission abandoned", 0), 0u) << a.refused[4];
  EXPECT_EQ(a.codes[4], "canceled");
  a.finish(3);
  a.finish(5);
  EXPECT_EQ(a.gate.in_flight(), 0u);
  EXPECT_EQ(a.gate.waiting(), 0u);
}

TEST(AdmissionGate, WaitingIsBoundedInTimeAndNumber) {
  Admissions a;
  a.gate.options.concurrency = 1;
  a.gate.options.max_waiting = 2;
  a.gate.options.max_wait = 50ms;
  for (int i = 0; i < 4; ++i) a.connect();
  EXPECT_EQ(a.refused[3].rfind("admission queue full", 0), 0u) << a.refused[3];
  EXPECT_EQ(a.codes[3], "resource_exhausted");
  a.run(50ms - 1ns);  // not a moment before max_wait
  EXPECT_EQ(a.refused[1], "");
  EXPECT_EQ(a.refused[2], "");
  EXPECT_EQ(a.gate.waiting(), 2u);
  a.run(1ns);
  EXPECT_EQ(a.codes[1], "resource_exhausted");
  EXPECT_EQ(a.refused[1].rfind("admission timeout", 0), 0u) << a.refused[1];
  EXPECT_EQ(a.refused[2].rfind("admission timeout", 0), 0u) << a.refused[2];
  EXPECT_EQ(a.order, std::vector<int>{0});
  a.finish(0);
  a.connect();  // a free slot is taken at once
  EXPECT_EQ(a.order, (std::vector<int>{0, 4}));
}

// The bound is per connection, counted from when it started waiting.
TEST(AdmissionGate, EachWaitIsBoundedFromItsOwnStart) {
  Admissions a;
  a.gate.options.concurrency = 1;
  a.gate.options.max_wait = 60s;
  a.connect();  // 0: admitted
  a.connect();  // 1: waits from t = 0
  a.run(20s);
  a.connect();  // 2: waits from t = 20 s
  a.run(40s);   // t = 60 s
  EXPECT_EQ(a.codes[1], "resource_exhausted");
  EXPECT_EQ(a.refused[2], "");
  a.run(20s - 1ns);
  EXPECT_EQ(a.refused[2], "");
  a.finish(0);  // its turn comes just in time
  EXPECT_EQ(a.order, (std::vector<int>{0, 2}));
  a.run(1h);
  EXPECT_EQ(a.refused[2], "");
  EXPECT_EQ(a.clock.sleepers(), 0u);
}

}  // namespace
}  // namespace wasimoff::broker
