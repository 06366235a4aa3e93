#include "provider/engine/wasm_module_info.h"

#include <fmt/format.h>

#include "common/strings.h"
#include "provider/wasi/signatures.h"

namespace wasimoff::engine {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : b_(bytes) {}

  bool done() const { return pos_ >= b_.size(); }
  std::size_t pos() const { return pos_; }

  std::uint8_t byte() {
    if (pos_ >= b_.size()) throw WasmParseError("unexpected end of module");
    return static_cast<std::uint8_t>(b_[pos_++]);
  }

  std::uint64_t leb(int max_bits) {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      // At most ceil(max_bits / 7) bytes; the last one may only carry the remaining bits.
      if (shift >= max_bits) throw WasmParseError("malformed LEB128 number");
      std::uint8_t c = byte();
      std::uint64_t part = c & 0x7f;
      if (shift + 7 > 64 && (part >> (64 - shift)))
        throw WasmParseError("LEB128 number out of range");
      v |= part << shift;
      if (!(c & 0x80)) break;
    }
    if (max_bits < 64 && (v >> max_bits)) throw WasmParseError("LEB128 number out of range");
    return v;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(leb(32)); }

  std::string_view bytes(std::size_t n) {
    if (n > b_.size() - pos_) throw WasmParseError("unexpected end of module");
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string name() { return std::string(bytes(u32())); }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

char valtype(std::uint8_t code) {
  switch (code) {
    case 0x7f:
      return 'i';
    case 0x7e:
      return 'I';
    case 0x7d:
      return 'f';
    case 0x7c:
      return 'F';
    case 0x7b:
      return 'v';
    case 0x70:
      return 'r';
    case 0x6f:
      return 'e';
  }
  throw WasmParseError(fmt::format("unknown value type 0x{:02x}", code));
}

std::string valtypes(Reader& r) {
  std::uint32_t n = r.u32();
  std::string out;
  for (std::uint32_t i = 0; i < n; ++i) out += valtype(r.byte());
  return out;
}

WasmMemory limits(Reader& r) {
  std::uint8_t flags = r.byte();
  if (flags > 0x07) throw WasmParseError("unknown memory limits flags");
  WasmMemory m;
  m.shared = flags & 0x02;
  m.memory64 = flags & 0x04;
  int bits = m.memory64 ? 64 : 32;
  m.initial_pages = r.leb(bits);
  if (flags & 0x01) m.max_pages = r.leb(bits);
  return m;
}

void table_type(Reader& r) {
  valtype(r.byte());
  std::uint8_t flags = r.byte();
  r.u32();
  if (flags & 0x01) r.u32();
}

std::string_view type_name(char c) {
  switch (c) {
    case 'i':
      return "i32";
    case 'I':
      return "i64";
    case 'f':
      return "f32";
    case 'F':
      return "f64";
    case 'v':
      return "v128";
    case 'r':
      return "funcref";
    case 'e':
      return "externref";
  }
  return "?";
}

std::string_view kind_name(ExternKind k) {
  switch (k) {
    case ExternKind::kFunction:
      return "function";
    case ExternKind::kTable:
      return "table";
    case ExternKind::kMemory:
      return "memory";
    case ExternKind::kGlobal:
      return "global";
    case ExternKind::kTag:
      return "tag";
  }
  return "?";
}

}  // namespace

std::string describe(const FuncType& type) {
  auto list = [](std::string_view codes) {
    std::string out = "(";
    for (std::size_t i = 0; i < codes.size(); ++i) {
      if (i) out += ", ";
      out += type_name(codes[i]);
    }
    return out + ")";
  };
  return list(type.params) + " -> " + (type.results.empty() ? "()" : list(type.results));
}

const WasmExport* WasmModuleInfo::find_export(std::string_view name) const {
  for (const WasmExport& e : exports)
    if (e.name == name) return &e;
  return nullptr;
}

const FuncType* WasmModuleInfo::function_type(std::uint32_t index) const {
  if (index >= function_types.size() || function_types[index] >= types.size()) return nullptr;
  return &types[function_types[index]];
}

namespace {

// Counts are checked before anything is stored: an entry in memory costs far more than its few
// bytes in the module (a 64 MB module of empty imports used to cost 2.4 GB).
std::uint32_t bounded(std::uint32_t n, std::uint32_t max, const char* what) {
  if (n > max) throw WasmLimitError(fmt::format("module declares more than {} {}", max, what));
  return n;
}

void read_types(Reader& s, const ParseLimits& bounds, WasmModuleInfo& info) {
  std::uint32_t n = bounded(s.u32(), bounds.max_types, "function types");
  for (std::uint32_t i = 0; i < n; ++i) {
    if (s.byte() != 0x60) throw WasmParseError("unsupported type form (not a function type)");
    FuncType t;
    t.params = valtypes(s);
    t.results = valtypes(s);
    info.types.push_back(std::move(t));
  }
}

WasmImport read_import(Reader& s, WasmModuleInfo& info) {
  WasmImport imp;
  imp.module = s.name();
  imp.name = s.name();
  std::uint8_t kind = s.byte();
  switch (kind) {
    case 0: {
      std::uint32_t t = s.u32();
      if (t >= info.types.size()) throw WasmParseError("import refers to an unknown type");
      imp.kind = ExternKind::kFunction;
      imp.type = info.types[t];
      info.function_types.push_back(t);
      break;
    }
    case 1:
      imp.kind = ExternKind::kTable;
      table_type(s);
      break;
    case 2: {
      imp.kind = ExternKind::kMemory;
      WasmMemory m = limits(s);
      m.imported = true;
      info.memories.push_back(m);
      break;
    }
    case 3:
      imp.kind = ExternKind::kGlobal;
      valtype(s.byte());
      s.byte();
      break;
    case 4:
      imp.kind = ExternKind::kTag;
      s.byte();
      s.u32();
      break;
    default:
      throw WasmParseError("unknown import kind");
  }
  return imp;
}

void read_imports(Reader& s, const ParseLimits& bounds, WasmModuleInfo& info) {
  std::uint32_t n = bounded(s.u32(), bounds.max_imports, "imports");
  for (std::uint32_t i = 0; i < n; ++i) info.imports.push_back(read_import(s, info));
}

void read_exports(Reader& s, const ParseLimits& bounds, WasmModuleInfo& info) {
  std::uint32_t n = bounded(s.u32(), bounds.max_exports, "exports");
  for (std::uint32_t i = 0; i < n; ++i) {
    WasmExport e;
    e.name = s.name();
    std::uint8_t kind = s.byte();
    if (kind > 4) throw WasmParseError("unknown export kind");
    e.kind = static_cast<ExternKind>(kind);
    e.index = s.u32();
    info.exports.push_back(std::move(e));
  }
}

}  // namespace

WasmModuleInfo parse_wasm_module(std::string_view bytes, const ParseLimits& bounds) {
  using namespace std::string_view_literals;
  if (bytes.size() < 8 || bytes.substr(0, 4) != "\0asm"sv)
    throw WasmParseError("not a WebAssembly binary (bad magic)");
  if (bytes.substr(4, 4) != "\x01\0\0\0"sv)
    throw WasmParseError("unsupported WebAssembly binary version");
  WasmModuleInfo info;
  Reader r(bytes.substr(8));
  while (!r.done()) {
    std::uint8_t id = r.byte();
    std::uint32_t size = r.u32();
    Reader s(r.bytes(size));
    switch (id) {
      case 1:
        read_types(s, bounds, info);
        break;
      case 2:
        read_imports(s, bounds, info);
        break;
      case 3: {  // functions
        std::uint32_t n = bounded(s.u32(), bounds.max_functions, "functions");
        for (std::uint32_t i = 0; i < n; ++i) info.function_types.push_back(s.u32());
        break;
      }
      case 5: {  // memories
        std::uint32_t n = bounded(s.u32(), bounds.max_memories, "memories");
        for (std::uint32_t i = 0; i < n; ++i) info.memories.push_back(limits(s));
        break;
      }
      case 7:
        read_exports(s, bounds, info);
        break;
      default:
        break;  // custom, code, data and all other sections are not needed here
    }
  }
  return info;
}

std::string check_command_module(const WasmModuleInfo& info) {
  for (const WasmImport& imp : info.imports) {
    // Names come from the module: escaped and shortened before they go into a message.
    std::string what = fmt::format("{}.{}", escape_untrusted(imp.module, 64, true),
                                   escape_untrusted(imp.name, 64, true));
    if (imp.kind != ExternKind::kFunction)
      return fmt::format("import {} is a {}; only functions can be imported", what,
                         kind_name(imp.kind));
    wasi::Abi abi;
    if (!wasi::import_module_abi(imp.module, &abi))
      return fmt::format("import {} is not provided (only {} and {} functions are)", what,
                         wasi::kModuleName, wasi::kUnstableModuleName);
    const wasi::Signature* sig = wasi::find_signature(abi, imp.name);
    if (!sig)
      return fmt::format("import {} is not a WASI {} function", what,
                         abi == wasi::Abi::kPreview1 ? "preview 1" : "preview 0 (wasi_unstable)");
    if (imp.type.params != sig->params || imp.type.results != sig->results)
      return fmt::format("import {} has signature {}, expected {}", what, describe(imp.type),
                         describe(FuncType{std::string(sig->params), std::string(sig->results)}));
  }
  const WasmExport* start = info.find_export("_start");
  if (!start || start->kind != ExternKind::kFunction)
    return "no _start function exported (only WASI commands are supported, not reactors)";
  const FuncType* st = info.function_type(start->index);
  if (!st) return "_start refers to an unknown function";
  if (!st->params.empty() || !st->results.empty())
    return fmt::format("_start has signature {}, expected () -> ()", describe(*st));
  const WasmExport* mem = info.find_export("memory");
  if (!mem || mem->kind != ExternKind::kMemory) return "no memory exported as \"memory\"";
  if (info.memories.size() != 1) return "modules with more than one memory are not supported";
  const WasmMemory& m = info.memories.front();
  if (m.memory64) return "64-bit memories are not supported";
  if (m.shared) return "shared memories (threads) are not supported";
  return {};
}

}  // namespace wasimoff::engine
