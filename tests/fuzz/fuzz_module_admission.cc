// fuzz_module_admission: admit_module (provider/engine/module_admission.h) on untrusted modules,
// as the native provider receives them from clients, before any compiler runs.
//
// Checks: admit_module either throws ModuleRejected (any other exception escapes and is reported
// as a crash), with a message of one line and no control characters, or returns a module that
//   * has no custom section (so no name section, no producers, nothing wasm2c would print),
//   * carries only our names: every import is wasi_snapshot_preview1.<one of our 46 functions>,
//     the exports are exactly `_start` (a function) and `memory` (memory 0),
//   * passes the task-module rules (check_command_module) again, and
//   * is a fixed point: admitting it again gives the same bytes.
// Together with wasm2c printing numbers and data bytes only as numeric literals (checked on real
// output by the HostileNames integration test), this is what keeps every byte of a client's
// module away from the C compiler except inside literals (docs/security.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "provider/engine/module_admission.h"
#include "provider/engine/wasm_module_info.h"
#include "provider/wasi/signatures.h"

namespace {

bool has_custom_section(std::string_view wasm) {
  std::size_t pos = 8;
  while (pos < wasm.size()) {
    if (wasm[pos++] == 0) return true;
    std::uint64_t size = 0;
    for (int shift = 0; pos < wasm.size(); shift += 7) {
      auto c = static_cast<unsigned char>(wasm[pos++]);
      size |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    pos += size;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wasimoff::engine;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  AdmissionLimits limits;
  limits.max_module_bytes = 1 << 20;
  limits.max_locals_per_function = 1000;
  AdmittedModule out;
  try {
    out = admit_module(input, limits);
  } catch (const ModuleRejected& e) {
    for (char ch : std::string_view(e.what())) {
      auto c = static_cast<unsigned char>(ch);
      FUZZ_CHECK(c >= 0x20 && c != 0x7f, "a rejection message with a control character");
    }
    return 0;
  }
  FUZZ_CHECK(!has_custom_section(out.wasm), "a custom section survived admission");
  WasmModuleInfo info = parse_wasm_module(out.wasm);
  for (const WasmImport& i : info.imports) {
    wasimoff::wasi::Abi abi;
    FUZZ_CHECK(wasimoff::wasi::import_module_abi(i.module, &abi),
               "an import module that is not ours");
    FUZZ_CHECK(wasimoff::wasi::find_signature(abi, i.name) != nullptr,
               "an import name that is not in its module's table");
    FUZZ_CHECK(is_canonical_name(i.module) && is_canonical_name(i.name),
               "an import name that is not ours");
  }
  FUZZ_CHECK(info.exports.size() == 2, "exports other than _start and memory");
  FUZZ_CHECK(info.exports[0].name == "_start" && info.exports[0].kind == ExternKind::kFunction,
             "first export is not the _start function");
  FUZZ_CHECK(info.exports[1].name == "memory" && info.exports[1].kind == ExternKind::kMemory &&
                 info.exports[1].index == 0,
             "second export is not memory 0");
  FUZZ_CHECK(check_command_module(info).empty(), "the admitted module breaks the task rules");
  FUZZ_CHECK(admit_module(out.wasm, limits).wasm == out.wasm, "admission is not idempotent");
  return 0;
}
