// An asynchronous counting semaphore for coroutines on one executor (not thread-safe): at most
// `limit` permits are out at a time; acquire() waits for a free one. Waiters are served in FIFO
// order. Bounds the provider's concurrent compilers, and the tasks a client keeps in flight and
// the HTTP connections it opens.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>

#include "common/async.h"

namespace wasimoff {

class AsyncSemaphore {
 public:
  // A held permit, returned on destruction or release(). Movable; a default-constructed or
  // moved-from Permit holds nothing. The semaphore must outlive every permit.
  class Permit {
   public:
    Permit() = default;
    explicit Permit(AsyncSemaphore* owner) : owner_(owner) {}
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    // Returns the permit held (if any), then takes over `other`'s.
    Permit& operator=(Permit&& other) noexcept;
    ~Permit() { release(); }
    // Returns the permit now (to the first waiter, if any); a no-op if none is held.
    void release();
    // True while a permit is held.
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    AsyncSemaphore* owner_ = nullptr;
  };

  // `limit` ≥ 1 (0 is treated as 1).
  AsyncSemaphore(asio::any_io_executor ex, std::size_t limit);

  // Waits for a permit. If the waiting coroutine is cancelled, it leaves the queue, takes no
  // permit and throws boost::system::system_error(operation_aborted).
  awaitable<Permit> acquire();

  std::size_t limit() const { return limit_; }                // the capacity: permits in all
  std::size_t in_use() const { return in_use_; }              // permits held now
  std::size_t available() const { return limit_ - in_use_; }  // permits free now
  std::size_t waiting() const { return waiters_.size(); }     // acquire() calls queued

 private:
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : granted(std::move(ex)) {}
    OneShotEvent granted;
  };
  void release_one();

  asio::any_io_executor ex_;
  std::size_t limit_;
  std::size_t in_use_ = 0;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace wasimoff
