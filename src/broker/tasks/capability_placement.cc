#include "broker/tasks/capability_placement.h"

#include <vector>

namespace wasimoff::broker {

bool excluded(const Task& task, const ProviderSession& provider) {
  if (task.refused_by(provider.id())) return true;
  if (!task.module) return false;
  return provider.caps.refusal(task.module->key) || !provider.caps.can_run(*task.module);
}

std::shared_ptr<ProviderSession> CapabilityAwarePlacement::select(
    const Task& task, const std::vector<std::shared_ptr<ProviderSession>>& providers) const {
  std::vector<ProviderSession*> candidates;
  for (const auto& p : providers)
    if (!p->closing() && p->has_free_slot() && p->supports(task.kind()) && !excluded(task, *p))
      candidates.push_back(p.get());
  if (candidates.empty()) return nullptr;
  // The avoid list only applies while it leaves someone to choose.
  std::vector<ProviderSession*> fresh;
  for (auto* p : candidates)
    if (!task.avoids(p->id())) fresh.push_back(p);
  auto& pool = fresh.empty() ? candidates : fresh;
  std::vector<ProviderSession*> with_files;
  for (auto* p : pool)
    if (p->has_files(task.required_refs)) with_files.push_back(p);
  auto& choice = with_files.empty() ? pool : with_files;
  ProviderSession* best = nullptr;
  double best_load = 0;
  for (auto* p : choice) {
    double load = static_cast<double>(p->active) / p->capacity();
    if (!best || load < best_load ||
        (load == best_load && p->last_assigned < best->last_assigned)) {
      best = p;
      best_load = load;
    }
  }
  return best->shared_from_this();
}

}  // namespace wasimoff::broker
