// An asynchronous counting semaphore for coroutines on one executor: at most `limit` permits
// are out at a time; acquire() waits (in FIFO order) for a free one. Bounds the tasks a client
// keeps in flight and the HTTP connections it opens. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>

#include "common/async.h"

namespace wasimoff::client {

class ConcurrencyLimit {
 public:
  // A held permit; released on destruction (or release()). Movable.
  class Permit {
   public:
    Permit() = default;
    explicit Permit(ConcurrencyLimit* owner) : owner_(owner) {}
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    ~Permit() { release(); }
    void release();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    ConcurrencyLimit* owner_ = nullptr;
  };

  // `limit` ≥ 1 (0 is treated as 1). The object must outlive every permit.
  ConcurrencyLimit(asio::any_io_executor ex, std::size_t limit);

  // Waits for a permit. If the waiting coroutine is cancelled, throws
  // boost::system::system_error(operation_aborted) and takes no permit.
  awaitable<Permit> acquire();

  std::size_t limit() const { return limit_; }
  std::size_t in_use() const { return in_use_; }
  std::size_t waiting() const { return waiters_.size(); }

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

}  // namespace wasimoff::client
