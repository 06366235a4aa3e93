// The default PlacementStrategy (docs/scheduling.md): among the providers that may take the task,
// prefer those it has not failed on, then those that already hold its files, then the least
// loaded (active / capacity), ties going to the one assigned longest ago.
#pragma once

#include "broker/tasks/placement.h"

namespace wasimoff::broker {

class CapabilityAwarePlacement final : public PlacementStrategy {
 public:
  std::shared_ptr<ProviderSession> select(
      const Task& task,
      const std::vector<std::shared_ptr<ProviderSession>>& providers) const override;
};

}  // namespace wasimoff::broker
