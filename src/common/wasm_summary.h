// What the Broker can cheaply know about a WebAssembly binary without validating it: the names of
// the modules it imports from and the initial size of its linear memory. Used for placement
// (docs/scheduling.md §3): a provider that announced it does not provide an import module, or
// allows less memory than the module starts with, is not sent the module.
//
// The parser reads only the import and memory sections, skips every other section by its size,
// never allocates more than kMaxImportModules names, and gives up (nullopt) on anything it does
// not understand: unknown facts never exclude a provider.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff {

struct WasmSummary {
  // Distinct import module names, sorted. At most kMaxImportModules; `more_imports` says that
  // there were further names (a module with that many can only run where all are provided,
  // which no provider announces: it is treated as needing a module nobody has).
  std::vector<std::string> import_modules;
  bool more_imports = false;
  // Initial size in bytes of memory 0 (imported or defined); 0 when the module has none.
  std::uint64_t initial_memory = 0;

  static constexpr std::size_t kMaxImportModules = 16;
  static constexpr std::size_t kMaxNameLength = 256;
};

// nullopt: not a WebAssembly binary (module version 1) or a malformed import/memory section.
std::optional<WasmSummary> summarize_wasm(std::string_view bytes);

}  // namespace wasimoff
