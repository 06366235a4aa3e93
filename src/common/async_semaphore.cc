#include "common/async_semaphore.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

namespace wasimoff {

AsyncSemaphore::Permit& AsyncSemaphore::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void AsyncSemaphore::Permit::release() {
  if (owner_) std::exchange(owner_, nullptr)->release_one();
}

AsyncSemaphore::AsyncSemaphore(asio::any_io_executor ex, std::size_t limit)
    : ex_(std::move(ex)), limit_(std::max<std::size_t>(limit, 1)) {}

awaitable<AsyncSemaphore::Permit> AsyncSemaphore::acquire() {
  if (in_use_ < limit_ && waiters_.empty()) {
    ++in_use_;
    co_return Permit(this);
  }
  auto waiter = std::make_shared<Waiter>(ex_);
  waiters_.push_back(waiter);
  co_await waiter->granted.wait();
  if (!waiter->granted.is_set()) {
    // Cancelled while waiting: leave the queue without a permit.
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end());
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  co_return Permit(this);  // release_one() handed its permit over
}

void AsyncSemaphore::release_one() {
  if (!waiters_.empty()) {
    auto next = std::move(waiters_.front());
    waiters_.pop_front();
    next->granted.set();  // the permit passes on; in_use_ stays
    return;
  }
  --in_use_;
}

}  // namespace wasimoff
