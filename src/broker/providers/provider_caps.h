// What a provider can run (docs/scheduling.md §3): the capabilities it announced
// (the optional ProviderCapabilities event) and the modules it refused on this connection. Both die
// with the connection. Owned by its ProviderSession; used by the Scheduler on the loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/wasm_summary.h"
#include "protocol/wire_status.h"
#include "wasimoff/v1/extensions.pb.h"

namespace wasimoff::broker {

// The module of a Wasip1 task as far as the Broker knows it: computed once per task (once per
// job parent), shared by the tasks that use the same binary.
struct ModuleFacts {
  std::string key;                     // "sha256:<hex>" of the binary
  std::optional<WasmSummary> summary;  // nullopt: not parsed (unknown facts exclude nobody)
};

// A task Response error that means "this provider cannot run this module" rather than "this run
// failed" (protocol/wire_status.h has the texts).
using protocol::is_module_refusal;

class ProviderCaps {
 public:
  // Refused modules remembered per provider connection; the oldest is forgotten first.
  static constexpr std::size_t kMaxRefusals = 256;
  // A refusal is trusted this long (the native provider caches its compile failures as long),
  // measured on `clock`.
  static constexpr std::chrono::minutes kRefusalLifetime{10};
  // Bytes of a refusal text kept (the text may become another task's result).
  static constexpr std::size_t kMaxRefusalText = 1024;
  // Import module names kept from an announcement; further ones are ignored.
  static constexpr std::size_t kMaxAnnouncedModules = 16;

  explicit ProviderCaps(const Clock& clock = Clock::real()) : clock_(&clock) {}

  // Replaces the announced capabilities (names beyond kMaxAnnouncedModules or longer than
  // WasmSummary::kMaxNameLength are ignored: no module needs them).
  void announce(const v1::ProviderCapabilities& caps);
  bool announced() const { return announced_; }
  // False when the provider's announcement rules the module out (true when nothing was
  // announced or nothing is known about the module).
  bool can_run(const ModuleFacts& module) const;
  // Why can_run() is false, e.g. `it imports from "wasi_unstable", which the provider does not
  // provide (it announced: wasi_snapshot_preview1)`; nullopt when it is true.
  std::optional<std::string> mismatch(const ModuleFacts& module) const;
  // A one-line summary for logs and /debug/state, e.g. "wasi_snapshot_preview1; memory 1 GiB".
  std::string describe() const;

  void remember_refusal(const std::string& key, std::string_view text);
  // The remembered refusal of `key`, or nullptr (never refused, forgotten, or too old).
  const std::string* refusal(const std::string& key) const;
  std::size_t refusal_count() const { return refused_.size(); }

 private:
  const Clock* clock_;
  bool announced_ = false;
  std::vector<std::string> wasi_;
  std::optional<std::uint64_t> memory_;
  struct Refusal {
    std::string text;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<std::string, Refusal> refused_;
  std::deque<std::string> order_;  // keys in the order first refused (eviction)
};

}  // namespace wasimoff::broker
