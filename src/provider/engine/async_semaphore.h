// A counting semaphore for coroutines on one executor (not thread-safe): bounds how many
// compilers run at once. Waiters are served in FIFO order; a cancelled acquire() leaves the
// queue and throws boost::system::system_error(operation_aborted).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <memory>

#include "common/async.h"

namespace wasimoff::engine {

class AsyncSemaphore {
 public:
  AsyncSemaphore(asio::any_io_executor ex, std::size_t permits)
      : ex_(std::move(ex)), permits_(permits) {}

  // Holds one permit until destroyed.
  class Permit {
   public:
    explicit Permit(AsyncSemaphore* s) : s_(s) {}
    Permit(Permit&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Permit& operator=(Permit&&) = delete;
    ~Permit() {
      if (s_) s_->release();
    }

   private:
    AsyncSemaphore* s_;
  };

  awaitable<Permit> acquire();
  std::size_t available() const { return permits_; }
  std::size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : ready(std::move(ex)) {}
    OneShotEvent ready;
  };
  void release();

  asio::any_io_executor ex_;
  std::size_t permits_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace wasimoff::engine
