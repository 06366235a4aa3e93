// Module admission: the step between a client's WebAssembly binary and any compiler.
//
// A module is attacker-controlled data. wasm2c copies names from a module (export names, and
// internal names derived from the name section) into the C code it generates, some of them into
// comments, unescaped; a name containing "*/" or a newline followed by "#include" therefore
// becomes C code. Admission makes sure no byte sequence of the client's module can reach the
// generated C outside a literal the tools escape themselves (numbers, and data segments, which
// wasm2c prints as hex bytes):
//
//   1. Structure: magic and version, every section in the standard order and at most once,
//      sizes consistent, limits on size, function count, body size and locals (cheap checks
//      that stop the simplest compile bombs before any process starts).
//   2. Rules of a task module (check_command_module): a WASI command exporting `_start: [] -> []`
//      and one 32-bit, non-shared memory named `memory`; only function imports, each one of the
//      46 `wasi_snapshot_preview1` or the 45 `wasi_unstable` (preview 0) functions with exactly
//      our signature for that module (a module may import from both; each import keeps the ABI
//      of its module name).
//   3. Rewrite into a canonical module:
//        * every custom section is dropped (the name section, producers, anything else);
//        * the import section is rebuilt from our own tables (wasi/signatures.h): the module and
//          field names written are our constants, not bytes copied from the input (an import
//          keeps its position, type index and module — preview 1 or preview 0 — only);
//        * the export section is replaced by exactly two exports, `_start` and `memory`, written
//          from our constants (nothing else is exported to the worker, so nothing is lost);
//        * every other section (types, functions, tables, memories, globals, start, elements,
//          data count, code, data) is copied byte for byte: it contains no names, only indices,
//          numbers, instructions and data bytes.
//   The result is what `wasm-validate`, `wasm2c` and the C compiler see. docs/security.md
//   explains why this closes the injection and how tests/fuzz checks it.
//
// Every message of ModuleRejected is ours; where it quotes a name from the module, the name is
// escaped (escape_untrusted, ASCII only) and shortened, so it can go back to the client and into
// logs.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wasimoff::engine {

struct AdmissionLimits {
  std::uint64_t max_module_bytes = 256ull << 20;
  std::uint32_t max_functions = 1'000'000;              // defined functions
  std::uint64_t max_function_body_bytes = 16ull << 20;  // one function's code
  std::uint64_t max_locals_per_function = 50'000;       // declared locals of one function
};

struct AdmittedModule {
  std::string wasm;                 // the canonical module (see above)
  std::uint64_t wasm_bytes = 0;     // its size (kept when `wasm` itself is dropped)
  std::uint64_t initial_pages = 0;  // of the memory
  std::uint64_t code_bytes = 0;     // size of the code section (drives the compile budget)
  std::uint32_t functions = 0;      // defined functions
  std::uint64_t largest_function_bytes = 0;
  bool imports_preview1 = false;  // some import is from wasi_snapshot_preview1
  bool imports_unstable = false;  // some import is from wasi_unstable (preview 0)
};

// The module cannot be a task module; what() is our own text, safe to show to the client.
class ModuleRejected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Checks and rewrites `wasm`. Throws ModuleRejected. Deterministic and idempotent:
// admit_module(admit_module(x).wasm).wasm == admit_module(x).wasm.
AdmittedModule admit_module(std::string_view wasm, const AdmissionLimits& limits = {});

// True when `name` is one of the names a canonical module may contain: a WASI module name
// (wasi_snapshot_preview1, wasi_unstable), one of the WASI function names, `_start` or `memory`.
// (Used by tests and the fuzz target.)
bool is_canonical_name(std::string_view name);

}  // namespace wasimoff::engine
