// Admission of new provider connections (docs/protocol.md §8 step 2, docs/configuration.md
// WASIMOFF_ADMISSION_CONCURRENCY): at most `concurrency` providers are between "connected" and
// "registered" (their Filesystem.Listing in flight) at a time; the others wait in FIFO order.
// After a Broker restart thousands of providers reconnect at once; without the gate their
// Listings all start together and the later ones time out behind the earlier ones. A provider's
// 10 s Listing time limit starts when its turn comes.
//
// Bounds: at most `max_waiting` connections wait (the next is refused with "admission queue
// full"), and none waits longer than `max_wait` ("admission timeout"), measured on the gate's
// Clock. Runs on the loop; not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "common/async.h"
#include "common/clock.h"
#include "common/status.h"

namespace wasimoff::broker {

class AdmissionGate {
 public:
  struct Options {
    std::size_t concurrency = 64;     // Listings in flight
    std::size_t max_waiting = 20000;  // connections waiting for their turn
    std::chrono::milliseconds max_wait = std::chrono::seconds(60);
  };

  // Holds one admission slot; releasing it (destruction) lets the next waiter in.
  class Ticket {
   public:
    explicit Ticket(AdmissionGate* gate) : gate_(gate) {}
    Ticket(Ticket&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    Ticket& operator=(Ticket&&) = delete;
    Ticket(const Ticket&) = delete;
    ~Ticket() {
      if (gate_) gate_->release();
    }

   private:
    AdmissionGate* gate_;
  };

  explicit AdmissionGate(asio::any_io_executor ex, Clock& clock = Clock::real())
      : ex_(std::move(ex)), clock_(&clock) {}

  // Waits for this connection's turn. Returns a ticket, or why the connection is not admitted:
  // resource_exhausted "admission queue full (…)" / "admission timeout: …" (the queue or the
  // wait bound ran out), canceled "admission abandoned: …" (`gone` was set while waiting).
  awaitable<Result<Ticket>> acquire(OneShotEvent& gone);

  std::size_t in_flight() const { return in_flight_; }
  std::size_t waiting() const { return waiting_.size(); }

  Options options;

 private:
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : granted(std::move(ex)) {}
    OneShotEvent granted;
  };
  void release();

  asio::any_io_executor ex_;
  Clock* clock_;
  std::size_t in_flight_ = 0;
  std::list<std::shared_ptr<Waiter>> waiting_;
};

}  // namespace wasimoff::broker
