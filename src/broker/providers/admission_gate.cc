#include "broker/providers/admission_gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "common/env_config.h"

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;

awaitable<Result<AdmissionGate::Ticket>> AdmissionGate::acquire(OneShotEvent& gone) {
  const std::size_t concurrency = std::max<std::size_t>(options.concurrency, 1);
  if (in_flight_ < concurrency && waiting_.empty()) {
    ++in_flight_;
    co_return Ticket(this);
  }
  if (waiting_.size() >= options.max_waiting)
    co_return resource_exhausted(
        fmt::format("admission queue full ({} providers waiting)", waiting_.size()));
  auto waiter = std::make_shared<Waiter>(ex_);
  auto it = waiting_.insert(waiting_.end(), waiter);
  co_await (waiter->granted.wait() || clock_->sleep_for(options.max_wait) || gone.wait());
  // release() removed us from the list and handed its slot over.
  if (waiter->granted.is_set()) co_return Ticket(this);
  waiting_.erase(it);
  if (gone.is_set()) co_return canceled("admission abandoned: the connection closed while waiting");
  co_return resource_exhausted(fmt::format(
      "admission timeout: no turn within {} (WASIMOFF_ADMISSION_CONCURRENCY={}, {} waiting)",
      env::format_duration(options.max_wait), concurrency, waiting_.size()));
}

void AdmissionGate::release() {
  --in_flight_;
  if (waiting_.empty() || in_flight_ >= std::max<std::size_t>(options.concurrency, 1)) return;
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  ++in_flight_;
  next->granted.set();
}

}  // namespace wasimoff::broker
