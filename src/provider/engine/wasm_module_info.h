// What the compile pipeline needs to know about a WebAssembly binary before generating C from it
// (docs/provider-internals.md §3.3 step 1): its imports with their function signatures, its exports
// and its memory. The binary is assumed to have passed `wasm-validate` already; this parser only
// tolerates what it needs and fails with a reason on truncated or malformed sections.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::engine {

enum class ExternKind : std::uint8_t {
  kFunction = 0,
  kTable = 1,
  kMemory = 2,
  kGlobal = 3,
  kTag = 4
};

// A function type as value-type codes: 'i' i32, 'I' i64, 'f' f32, 'F' f64, 'v' v128,
// 'r' funcref, 'e' externref (the same letters as wasi/signatures.h).
struct FuncType {
  std::string params;
  std::string results;
};

struct WasmImport {
  std::string module;
  std::string name;
  ExternKind kind;
  FuncType type;  // functions only
};

struct WasmExport {
  std::string name;
  ExternKind kind;
  std::uint32_t index;
};

struct WasmMemory {
  std::uint64_t initial_pages = 0;
  std::optional<std::uint64_t> max_pages;
  bool shared = false;
  bool memory64 = false;
  bool imported = false;
};

struct WasmModuleInfo {
  std::vector<FuncType> types;
  std::vector<WasmImport> imports;
  std::vector<std::uint32_t> function_types;  // type index per function, imports first
  std::vector<WasmMemory> memories;           // imports first
  std::vector<WasmExport> exports;

  // The export `name`, or nullptr.
  const WasmExport* find_export(std::string_view name) const;
  // The type of function `index` (imports included), or nullptr.
  const FuncType* function_type(std::uint32_t index) const;
};

class WasmParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A count above ParseLimits: the module may be valid, but is beyond what we accept.
class WasmLimitError : public WasmParseError {
 public:
  using WasmParseError::WasmParseError;
};

// Upper bounds on what the parser stores (checked on the counts, before storing). Far above what
// compilers produce for a task module (a few imports, tens of exports, one memory).
struct ParseLimits {
  std::uint32_t max_types = 100'000;
  std::uint32_t max_imports = 1000;
  std::uint32_t max_functions = 1'000'000;
  std::uint32_t max_memories = 16;
  std::uint32_t max_exports = 100'000;
};

// Throws WasmParseError.
WasmModuleInfo parse_wasm_module(std::string_view bytes, const ParseLimits& limits = {});

// The rules a module must follow to run as a task (docs/provider-internals.md §1 "module", §3.3): a
// WASI command exporting `_start: [] -> []` and `memory`, exactly one memory (not shared, not
// 64-bit), and only function imports from wasi_snapshot_preview1 or wasi_unstable whose names and
// signatures match that module's table in wasi/signatures.h. Returns an empty string when the
// module qualifies, else the reason (without the "unsupported module: " prefix).
std::string check_command_module(const WasmModuleInfo& info);

// "(i32, i64) -> i32"
std::string describe(const FuncType& type);

}  // namespace wasimoff::engine
