#include "broker/tasks/module_facts.h"

#include <spdlog/spdlog.h>

#include "common/file_ref.h"

namespace wasimoff::broker {

std::shared_ptr<const ModuleFacts> module_facts_of(std::string_view bytes) {
  auto f = std::make_shared<ModuleFacts>();
  f->key = make_ref(bytes);
  f->summary = summarize_wasm(bytes);
  return f;
}

awaitable<std::shared_ptr<const ModuleFacts>> ModuleFactsCache::facts(const v1::File& binary) {
  if (!binary.blob().empty()) {
    if (binary.blob().size() <= kInlineOnLoop) co_return module_facts_of(binary.blob());
    auto job = [&binary] { return module_facts_of(binary.blob()); };
    co_return co_await offload(pool_, std::move(job));
  }
  const std::string ref = binary.ref();
  if (auto it = cache_.find(ref); it != cache_.end()) co_return it->second;
  auto job = [this, ref]() -> std::shared_ptr<const std::string> {
    try {
      return storage_.read(ref);
    } catch (const std::exception& e) {
      spdlog::warn("cannot read {} to learn its imports: {}", ref, e.what());
      return nullptr;
    }
  };
  auto bytes = co_await offload(pool_, std::move(job));
  auto f = std::make_shared<ModuleFacts>();
  f->key = ref;
  if (!bytes) co_return f;  // not cached: the next task tries again
  f->summary = summarize_wasm(*bytes);
  if (cache_.count(ref)) co_return cache_[ref];  // another task parsed it meanwhile
  while (cache_.size() >= kMaxEntries && !order_.empty()) {
    cache_.erase(order_.front());
    order_.pop_front();
  }
  cache_.emplace(ref, f);
  order_.push_back(ref);
  co_return f;
}

}  // namespace wasimoff::broker
