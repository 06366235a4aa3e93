// Placement: which registered provider gets a task (docs/scheduling.md). The Scheduler owns one
// PlacementStrategy and asks it whenever a task could be assigned. A strategy only chooses: it
// must return a provider that is not closing, has a free slot, supports the task's kind and is not
// excluded() for the task, or nullptr when none may take it now. It runs on the loop, changes no
// state and keeps no reference past the call.
#pragma once

#include <memory>
#include <vector>

#include "broker/providers/provider_session.h"
#include "broker/tasks/task.h"

namespace wasimoff::broker {

class PlacementStrategy {
 public:
  virtual ~PlacementStrategy() = default;
  // `providers` are the registry's registered sessions.
  virtual std::shared_ptr<ProviderSession> select(
      const Task& task, const std::vector<std::shared_ptr<ProviderSession>>& providers) const = 0;
};

// The rule every strategy applies: true when `provider` refused `task`'s module or announced
// capabilities that rule it out (docs/scheduling.md §3).
bool excluded(const Task& task, const ProviderSession& provider);

}  // namespace wasimoff::broker
