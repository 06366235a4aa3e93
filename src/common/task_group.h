// TaskGroup: coroutines owned by one object (a connection, a session, a service), instead of
// detached ones that nobody can stop or wait for.
//
// spawn() starts a child on the group's executor, bound to a cancellation slot of the group.
// cancel() emits terminal cancellation to every running child (the operation a child is suspended
// in completes with operation_aborted; Asio awaitables accept terminal cancellation by default)
// and refuses later spawns. join() returns once no child is running. An exception that escapes a
// child is logged with the child's name (like spawn_logged()), except operation_aborted after
// cancel(), which is how a cancelled child ends.
//
// Lifetime: the children's bookkeeping is shared with them, so destroying the group while
// children still run is safe: the destructor cancels them and they finish on their own. Whoever
// owns resources the children use should `cancel(); co_await join();` before releasing them.
// Not thread-safe: use the group from its executor's thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/async.h"

namespace wasimoff {

class TaskGroup {
 public:
  explicit TaskGroup(asio::any_io_executor ex);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `work` as a child named `what` (for logs; must outlive the child, e.g. a literal).
  // Returns false (and drops `work` unstarted) after cancel().
  bool spawn(awaitable<void> work, const char* what);
  // Cancels every running child; later spawns are refused.
  void cancel();
  // Waits until no child is running. Cancelling the waiter ends the wait early.
  awaitable<void> join();

  std::size_t size() const;
  bool cancelled() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace wasimoff
