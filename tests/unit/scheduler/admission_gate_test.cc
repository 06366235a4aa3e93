// AdmissionGate (issue 11): bounded admissions in flight, FIFO turns, bounded waiting.
#include "broker/providers/admission_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <vector>

namespace wasimoff::broker {
namespace {

using namespace std::chrono_literals;

struct Admissions {
  asio::io_context io;
  AdmissionGate gate{io.get_executor()};
  std::vector<std::optional<AdmissionGate::Ticket>> tickets;  // by connection
  std::vector<std::string> refused;                           // by connection ("" = admitted)
  std::vector<int> order;                                     // connections in admission order
  std::vector<std::unique_ptr<OneShotEvent>> gone;

  // Runs the loop for `d` (run_for() stops the context when it runs out of work).
  void run(std::chrono::milliseconds d = 5ms) {
    io.restart();
    io.run_for(d);
  }

  // Starts connection i's wait for a turn.
  void connect() {
    const int i = static_cast<int>(tickets.size());
    tickets.emplace_back();
    refused.emplace_back();
    gone.push_back(std::make_unique<OneShotEvent>(io.get_executor()));
    asio::co_spawn(
        io,
        [this, i]() -> awaitable<void> {
          auto r = co_await gate.acquire(*gone[i]);
          if (auto* why = std::get_if<std::string>(&r)) {
            refused[i] = *why;
          } else {
            order.push_back(i);
            tickets[i].emplace(std::move(std::get<AdmissionGate::Ticket>(r)));
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
  a.run(100ms);
  EXPECT_EQ(a.refused[1].rfind("admission timeout", 0), 0u) << a.refused[1];
  EXPECT_EQ(a.refused[2].rfind("admission timeout", 0), 0u) << a.refused[2];
  EXPECT_EQ(a.order, std::vector<int>{0});
  a.finish(0);
  a.connect();  // a free slot is taken at once
  EXPECT_EQ(a.order, (std::vector<int>{0, 4}));
}

}  // namespace
}  // namespace wasimoff::broker
