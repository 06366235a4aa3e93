#include "common/wasm_summary.h"

#include <algorithm>

namespace wasimoff {

namespace {

constexpr std::uint64_t kPageSize = 64 * 1024;

struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool ok = true;

  bool at_end() const { return pos >= in.size(); }
  std::uint8_t byte() {
    if (pos >= in.size()) {
      ok = false;
      return 0;
    }
    return static_cast<std::uint8_t>(in[pos++]);
  }
  std::uint64_t leb(int max_bits) {
    std::uint64_t v = 0;
    for (int shift = 0; ok && shift < max_bits; shift += 7) {
      std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string_view bytes(std::uint64_t n) {
    if (!ok || n > in.size() - pos) {
      ok = false;
      return {};
    }
    auto s = in.substr(pos, n);
    pos += n;
    return s;
  }
  std::string_view name() { return bytes(leb(32)); }
  // Limits of a table or memory; returns the minimum.
  std::uint64_t limits() {
    std::uint8_t flags = byte();
    bool is64 = flags & 0x04;
    std::uint64_t min = leb(is64 ? 64 : 32);
    if (flags & 0x01) leb(is64 ? 64 : 32);
    return min;
  }
};

void add_module(WasmSummary& s, std::string_view name) {
  if (std::find(s.import_modules.begin(), s.import_modules.end(), name) != s.import_modules.end())
    return;
  if (s.import_modules.size() >= WasmSummary::kMaxImportModules ||
      name.size() > WasmSummary::kMaxNameLength) {
    s.more_imports = true;
    return;
  }
  s.import_modules.emplace_back(name);
}

std::uint64_t memory_bytes(std::uint64_t pages) {
  constexpr std::uint64_t kMaxPages = UINT64_MAX / kPageSize;
  return pages > kMaxPages ? UINT64_MAX : pages * kPageSize;
}

}  // namespace

std::optional<WasmSummary> summarize_wasm(std::string_view bytes) {
  if (bytes.size() < 8 || bytes.substr(0, 4) != std::string_view("\0asm", 4) ||
      bytes.substr(4, 4) != std::string_view("\x01\0\0\0", 4))
    return std::nullopt;
  WasmSummary out;
  bool have_memory = false;
  Reader r{bytes, 8};
  while (!r.at_end()) {
    std::uint8_t id = r.byte();
    Reader sec{r.bytes(r.leb(32))};
    if (!r.ok) return std::nullopt;
    if (id == 2) {  // imports
      std::uint64_t count = sec.leb(32);
      for (std::uint64_t i = 0; i < count && sec.ok; ++i) {
        add_module(out, sec.name());
        sec.name();
        switch (sec.byte()) {
          case 0:  // function: type index
            sec.leb(32);
            break;
          case 1:  // table: reftype, limits
            sec.byte();
            sec.limits();
            break;
          case 2: {  // memory
            std::uint64_t min = sec.limits();
            if (!have_memory) out.initial_memory = memory_bytes(min);
            have_memory = true;
            break;
          }
          case 3:  // global: valtype, mutability
            sec.byte();
            sec.byte();
            break;
          case 4:  // tag: attribute, type index
            sec.byte();
            sec.leb(32);
            break;
          default:
            return std::nullopt;
        }
      }
      if (!sec.ok) return std::nullopt;
    } else if (id == 5) {  // memories
      std::uint64_t count = sec.leb(32);
      if (count > 0 && sec.ok) {
        std::uint64_t min = sec.limits();
        if (!have_memory) out.initial_memory = memory_bytes(min);
        have_memory = true;
      }
      if (!sec.ok) return std::nullopt;
    }
    if (id > 5) break;  // past the sections we read (sections are ordered; custom ones are 0)
  }
  std::sort(out.import_modules.begin(), out.import_modules.end());
  return out;
}

}  // namespace wasimoff
