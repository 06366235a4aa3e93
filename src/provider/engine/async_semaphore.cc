#include "provider/engine/async_semaphore.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace wasimoff::engine {

awaitable<AsyncSemaphore::Permit> AsyncSemaphore::acquire() {
  if (permits_ > 0 && waiters_.empty()) {
    --permits_;
    co_return Permit(this);
  }
  auto w = std::make_shared<Waiter>(ex_);
  waiters_.push_back(w);
  co_await w->ready.wait();
  if (!w->ready.is_set()) {
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
    throw boost::system::system_error(asio::error::operation_aborted);
  }
  co_return Permit(this);  // the releaser handed its permit over
}

void AsyncSemaphore::release() {
  if (!waiters_.empty()) {
    auto w = std::move(waiters_.front());
    waiters_.pop_front();
    w->ready.set();
    return;
  }
  ++permits_;
}

}  // namespace wasimoff::engine
