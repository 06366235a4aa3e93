#include "provider/engine/module_admission.h"

#include <fmt/format.h>

#include <array>
#include <vector>

#include "common/strings.h"
#include "provider/engine/wasm_module_info.h"
#include "provider/wasi/signatures.h"

namespace wasimoff::engine {

namespace {

constexpr std::string_view kHeader{"\0asm\x01\0\0\0", 8};
constexpr std::string_view kStartName = "_start";
constexpr std::string_view kMemoryName = "memory";

enum SectionId : std::uint8_t {
  kCustom = 0,
  kType = 1,
  kImport = 2,
  kFunction = 3,
  kTable = 4,
  kMemory = 5,
  kGlobal = 6,
  kExport = 7,
  kStart = 8,
  kElement = 9,
  kCode = 10,
  kData = 11,
  kDataCount = 12,
  kTag = 13,
};

// Position of a known section in the order the binary format prescribes (1 = first); 0 for
// custom sections, which may appear anywhere.
int section_rank(std::uint8_t id) {
  static constexpr std::array<int, 14> kRank = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return kRank[id];
}

// A bounded reader over untrusted bytes; every failure is a ModuleRejected with our own text.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : b_(bytes) {}
  bool done() const { return pos_ >= b_.size(); }
  std::size_t pos() const { return pos_; }

  std::uint8_t byte() {
    if (pos_ >= b_.size()) throw ModuleRejected("invalid module: unexpected end of a section");
    return static_cast<std::uint8_t>(b_[pos_++]);
  }
  std::uint32_t u32() {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (shift > 28) throw ModuleRejected("invalid module: malformed LEB128 number");
      std::uint8_t c = byte();
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    if (v > 0xffffffffu) throw ModuleRejected("invalid module: LEB128 number out of range");
    return static_cast<std::uint32_t>(v);
  }
  std::string_view bytes(std::uint64_t n) {
    if (n > b_.size() - pos_) throw ModuleRejected("invalid module: unexpected end of a section");
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

struct Section {
  std::uint8_t id;
  std::string_view whole;    // id, size and payload, as in the input
  std::string_view payload;  // contents only
};

void put_u32(std::string& out, std::uint32_t v) {
  do {
    std::uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out += static_cast<char>(b);
  } while (v);
}

void put_name(std::string& out, std::string_view name) {
  put_u32(out, static_cast<std::uint32_t>(name.size()));
  out.append(name);
}

void put_section(std::string& out, std::uint8_t id, const std::string& payload) {
  out += static_cast<char>(id);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
}

std::vector<Section> split_sections(std::string_view wasm) {
  if (wasm.size() < 8 || wasm.substr(0, 4) != kHeader.substr(0, 4))
    throw ModuleRejected("invalid module: not a WebAssembly binary (bad magic)");
  if (wasm.substr(4, 4) != kHeader.substr(4, 4))
    throw ModuleRejected(
        "invalid module: unsupported binary version (only version 1 is supported)");
  std::vector<Section> sections;
  Reader r(wasm.substr(8));
  int last_rank = 0;
  while (!r.done()) {
    std::size_t start = r.pos();
    std::uint8_t id = r.byte();
    std::uint32_t size = r.u32();
    std::string_view payload = r.bytes(size);
    if (id > kTag) throw ModuleRejected(fmt::format("invalid module: unknown section id {}", id));
    if (id == kTag) throw ModuleRejected("exception handling (a tag section) is not supported");
    if (id != kCustom) {
      int rank = section_rank(id);
      if (rank <= last_rank)
        throw ModuleRejected(
            fmt::format("invalid module: section {} is repeated or out of order", id));
      last_rank = rank;
    }
    // Custom sections are dropped, so they are not even stored (a module of millions of tiny
    // ones must not cost memory).
    if (id != kCustom) sections.push_back({id, wasm.substr(8 + start, r.pos() - start), payload});
  }
  return sections;
}

// Counts functions and locals in the code section and enforces the per-function limits.
void measure_code(std::string_view payload, const AdmissionLimits& limits, AdmittedModule& out) {
  Reader r(payload);
  std::uint32_t count = r.u32();
  if (count > limits.max_functions)
    throw ModuleRejected(fmt::format("module defines {} functions, more than the limit of {}",
                                     count, limits.max_functions));
  out.functions = count;
  out.code_bytes = payload.size();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t size = r.u32();
    if (size > limits.max_function_body_bytes)
      throw ModuleRejected(fmt::format("function {} has {} of code, more than the limit of {}", i,
                                       format_bytes(size),
                                       format_bytes(limits.max_function_body_bytes)));
    out.largest_function_bytes = std::max<std::uint64_t>(out.largest_function_bytes, size);
    Reader body(r.bytes(size));
    std::uint32_t groups = body.u32();
    std::uint64_t locals = 0;
    for (std::uint32_t g = 0; g < groups; ++g) {
      locals += body.u32();
      body.byte();  // value type, checked by the validator
      if (locals > limits.max_locals_per_function)
        throw ModuleRejected(fmt::format("function {} declares more than {} locals", i,
                                         limits.max_locals_per_function));
    }
  }
  if (!r.done()) throw ModuleRejected("invalid module: trailing bytes in the code section");
}

}  // namespace

bool is_canonical_name(std::string_view name) {
  return name == wasi::kModuleName || name == wasi::kUnstableModuleName || name == kStartName ||
         name == kMemoryName || wasi::find_signature(name) != nullptr;
}

AdmittedModule admit_module(std::string_view wasm, const AdmissionLimits& limits) {
  if (wasm.size() > limits.max_module_bytes)
    throw ModuleRejected(
        fmt::format("module is larger than {}", format_bytes(limits.max_module_bytes)));
  std::vector<Section> sections = split_sections(wasm);

  WasmModuleInfo info;
  try {
    ParseLimits bounds;
    bounds.max_functions = limits.max_functions;
    info = parse_wasm_module(wasm, bounds);
  } catch (const WasmLimitError& e) {
    throw ModuleRejected(e.what());
  } catch (const WasmParseError& e) {
    throw ModuleRejected(std::string("invalid module: ") + e.what());
  }
  if (std::string why = check_command_module(info); !why.empty()) throw ModuleRejected(why);
  const WasmExport* start = info.find_export(kStartName);
  const WasmExport* memory = info.find_export(kMemoryName);
  if (memory->index != 0) throw ModuleRejected("invalid module: \"memory\" exports no memory 0");

  AdmittedModule out;
  out.initial_pages = info.memories.front().initial_pages;
  out.wasm.reserve(wasm.size());
  out.wasm.append(kHeader);
  for (const Section& s : sections) {
    switch (s.id) {
      case kCustom:
        break;  // dropped: names, producers, debug info — nothing a task needs
      case kImport: {
        // Rebuilt from our tables: check_command_module() proved every import is a function of
        // a WASI module we provide with our signature, and function_types[i] is import i's type
        // index. Module and function names are written from our constants (import_module_name,
        // the Signature entry), never copied from the input.
        std::string payload;
        put_u32(payload, static_cast<std::uint32_t>(info.imports.size()));
        for (std::size_t i = 0; i < info.imports.size(); ++i) {
          wasi::Abi abi = wasi::Abi::kPreview1;
          wasi::import_module_abi(info.imports[i].module, &abi);
          const wasi::Signature* sig = wasi::find_signature(abi, info.imports[i].name);
          put_name(payload, wasi::import_module_name(abi));
          put_name(payload, sig->name);
          payload += '\0';  // function import
          put_u32(payload, info.function_types[i]);
          (abi == wasi::Abi::kPreview1 ? out.imports_preview1 : out.imports_unstable) = true;
        }
        put_section(out.wasm, kImport, payload);
        break;
      }
      case kExport: {
        std::string payload;
        put_u32(payload, 2);
        put_name(payload, kStartName);
        payload += static_cast<char>(ExternKind::kFunction);
        put_u32(payload, start->index);
        put_name(payload, kMemoryName);
        payload += static_cast<char>(ExternKind::kMemory);
        put_u32(payload, 0);
        put_section(out.wasm, kExport, payload);
        break;
      }
      case kCode:
        measure_code(s.payload, limits, out);
        out.wasm.append(s.whole);
        break;
      default:
        out.wasm.append(s.whole);
        break;
    }
  }
  out.wasm_bytes = out.wasm.size();
  return out;
}

}  // namespace wasimoff::engine
