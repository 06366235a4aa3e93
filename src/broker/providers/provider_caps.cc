#include "broker/providers/provider_caps.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/strings.h"

namespace wasimoff::broker {

namespace {
std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + escape_untrusted(n);
  return out.empty() ? "none" : out;
}
}  // namespace

void ProviderCaps::announce(const v1::ProviderCapabilities& caps) {
  announced_ = true;
  wasi_.clear();
  for (const auto& name : caps.wasi()) {
    if (wasi_.size() >= kMaxAnnouncedModules) break;
    if (name.size() <= WasmSummary::kMaxNameLength &&
        std::find(wasi_.begin(), wasi_.end(), name) == wasi_.end())
      wasi_.push_back(name);
  }
  memory_.reset();
  if (caps.has_memory()) memory_ = caps.memory();
}

std::optional<std::string> ProviderCaps::mismatch(const ModuleFacts& module) const {
  if (!announced_ || !module.summary) return std::nullopt;
  const WasmSummary& s = *module.summary;
  for (const auto& m : s.import_modules)
    if (std::find(wasi_.begin(), wasi_.end(), m) == wasi_.end())
      return fmt::format(
          "it imports from \"{}\", which the provider does not provide (it announced: {})",
          escape_untrusted(m), join_names(wasi_));
  if (s.more_imports)
    return fmt::format("it imports from more than {} modules", WasmSummary::kMaxImportModules);
  if (memory_ && s.initial_memory > *memory_)
    return fmt::format("its initial linear memory of {} exceeds the provider's limit of {}",
                       format_bytes(s.initial_memory), format_bytes(*memory_));
  return std::nullopt;
}

bool ProviderCaps::can_run(const ModuleFacts& module) const {
  if (!announced_ || !module.summary) return true;
  const WasmSummary& s = *module.summary;
  if (s.more_imports || (memory_ && s.initial_memory > *memory_)) return false;
  for (const auto& m : s.import_modules)
    if (std::find(wasi_.begin(), wasi_.end(), m) == wasi_.end()) return false;
  return true;
}

std::string ProviderCaps::describe() const {
  if (!announced_) return "not announced";
  std::string out = "wasi: " + join_names(wasi_);
  if (memory_) out += "; memory " + format_bytes(*memory_);
  return out;
}

void ProviderCaps::remember_refusal(const std::string& key, std::string_view text) {
  if (key.empty()) return;
  auto now = clock_->steady_now();
  std::string kept = truncate_utf8(text, kMaxRefusalText);
  if (auto it = refused_.find(key); it != refused_.end()) {
    it->second = Refusal{std::move(kept), now};
    return;
  }
  while (refused_.size() >= kMaxRefusals && !order_.empty()) {
    refused_.erase(order_.front());
    order_.pop_front();
  }
  refused_.emplace(key, Refusal{std::move(kept), now});
  order_.push_back(key);
}

const std::string* ProviderCaps::refusal(const std::string& key) const {
  auto it = refused_.find(key);
  if (it == refused_.end()) return nullptr;
  if (clock_->steady_now() - it->second.at > kRefusalLifetime) return nullptr;
  return &it->second.text;
}

}  // namespace wasimoff::broker
