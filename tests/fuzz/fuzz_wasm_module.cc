// fuzz_wasm_module: the two WebAssembly readers that see a client's module before anything else
// does: the Broker's summarize_wasm (common/wasm_summary.h, placement by import modules and
// initial memory) and the provider's parse_wasm_module (provider/engine/wasm_module_info.h, the
// first step of admission; fuzz_module_admission covers the rewrite that follows it).
//
// Checks, for every input:
//  * neither parser crashes; parse_wasm_module throws nothing but WasmParseError, with tight
//    ParseLimits as well as the defaults;
//  * summarize_wasm keeps its bounds: at most kMaxImportModules distinct names, sorted, each at
//    most kMaxNameLength bytes;
//  * where both accept the module and its sections are known and in the order the specification
//    requires (which wasm-validate checks before the provider parses; the summary stops at the
//    first section past the memory section), they agree: the summary's names are the distinct
//    import module names that parse_wasm_module found (all of them, unless `more_imports`), and its
//    initial memory is memory 0's initial pages times 64 KiB (saturated);
//  * check_command_module and describe() never crash on a parsed module.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include "common/wasm_summary.h"
#include "fuzz_check.h"
#include "provider/engine/wasm_module_info.h"

namespace {

// True when every section id is known and the non-custom sections come in the specification's
// order (type, import, function, table, memory, tag, global, export, start, element, data count,
// code, data), each at most once.
bool sections_in_order(std::string_view wasm) {
  constexpr int kRank[14] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  int last = 0;
  std::size_t pos = 8;
  while (pos < wasm.size()) {
    const auto id = static_cast<unsigned char>(wasm[pos++]);
    if (id > 13) return false;
    if (id != 0) {
      if (kRank[id] <= last) return false;
      last = kRank[id];
    }
    std::uint64_t size = 0;
    for (int shift = 0; pos < wasm.size() && shift < 35; shift += 7) {
      const auto c = static_cast<unsigned char>(wasm[pos++]);
      size |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    if (size > wasm.size() - pos) return false;
    pos += size;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wasimoff::engine;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto summary = wasimoff::summarize_wasm(input);
  if (summary) {
    const auto& names = summary->import_modules;
    FUZZ_CHECK(names.size() <= wasimoff::WasmSummary::kMaxImportModules, "too many names kept");
    FUZZ_CHECK(std::is_sorted(names.begin(), names.end()), "import names not sorted");
    FUZZ_CHECK(std::adjacent_find(names.begin(), names.end()) == names.end(),
               "an import name kept twice");
    for (const auto& n : names)
      FUZZ_CHECK(n.size() <= wasimoff::WasmSummary::kMaxNameLength, "an overlong name kept");
  }

  ParseLimits tight;
  tight.max_types = 4;
  tight.max_imports = 4;
  tight.max_functions = 8;
  tight.max_memories = 1;
  tight.max_exports = 4;
  try {
    (void)parse_wasm_module(input, tight);
  } catch (const WasmParseError&) {
  }

  WasmModuleInfo info;
  try {
    info = parse_wasm_module(input);
  } catch (const WasmParseError&) {
    return 0;
  }
  (void)check_command_module(info);
  for (const auto& t : info.types) (void)describe(t);
  for (const auto& i : info.imports) (void)describe(i.type);

  if (!summary || !sections_in_order(input)) return 0;
  std::set<std::string> modules;
  for (const auto& i : info.imports) modules.insert(i.module);
  for (const auto& n : summary->import_modules)
    FUZZ_CHECK(modules.count(n) == 1, "the summary names a module that is not imported");
  if (!summary->more_imports)
    FUZZ_CHECK(modules.size() == summary->import_modules.size(),
               "the summary misses an import module");
  if (!info.memories.empty()) {
    constexpr std::uint64_t kPage = 64 * 1024;
    const std::uint64_t pages = info.memories[0].initial_pages;
    const std::uint64_t bytes = pages > std::numeric_limits<std::uint64_t>::max() / kPage
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : pages * kPage;
    FUZZ_CHECK(summary->initial_memory == bytes, "the summary's initial memory differs");
  } else {
    FUZZ_CHECK(summary->initial_memory == 0, "initial memory without a memory");
  }
  return 0;
}
