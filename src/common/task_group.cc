#include "common/task_group.h"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/system/system_error.hpp>
#include <list>

namespace wasimoff {

struct TaskGroup::State {
  explicit State(asio::any_io_executor e)
      : ex(e), idle(std::move(e), std::chrono::steady_clock::time_point::max()) {}
  asio::any_io_executor ex;
  // One signal per running child; std::list keeps the others' addresses stable on erase.
  std::list<asio::cancellation_signal> children;
  asio::steady_timer idle;  // cancelled whenever the last child finishes
  bool cancelled = false;
};

namespace {

void log_escape(std::exception_ptr e, const char* what, bool cancelled) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& ex) {
    if (cancelled && ex.code() == asio::error::operation_aborted) return;
    spdlog::error("{}: {}", what, ex.what());
  } catch (const std::exception& ex) {
    spdlog::error("{}: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{}: unknown exception", what);
  }
}

}  // namespace

TaskGroup::TaskGroup(asio::any_io_executor ex) : state_(std::make_shared<State>(std::move(ex))) {}

TaskGroup::~TaskGroup() {
  cancel();
}

bool TaskGroup::spawn(awaitable<void> work, const char* what) {
  if (state_->cancelled) return false;
  auto child = state_->children.emplace(state_->children.end());
  auto done = [state = state_, child, what](std::exception_ptr e) {
    if (e) log_escape(e, what, state->cancelled);
    // The signal's slot still holds co_spawn's handler while this runs: erase it afterwards.
    asio::post(state->ex, [state, child] {
      state->children.erase(child);
      if (state->children.empty()) state->idle.cancel();
    });
  };
  asio::co_spawn(state_->ex, std::move(work), asio::bind_cancellation_slot(child->slot(), done));
  return true;
}

void TaskGroup::cancel() {
  state_->cancelled = true;
  // emit() may complete a child's operation inline; the erase is posted, so the list is stable.
  for (auto& signal : state_->children) signal.emit(asio::cancellation_type::terminal);
}

awaitable<void> TaskGroup::join() {
  auto state = state_;
  while (!state->children.empty()) {
    boost::system::error_code ec;
    co_await state->idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->children.empty()) break;
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
  }
}

std::size_t TaskGroup::size() const {
  return state_->children.size();
}
bool TaskGroup::cancelled() const {
  return state_->cancelled;
}

}  // namespace wasimoff
