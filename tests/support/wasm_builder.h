// A small WebAssembly binary writer for tests: modules with any bytes in any name (exports,
// imports, custom sections, the name section), which text-format tools refuse or escape.
// Header-only; no validation (tests build invalid modules on purpose).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wasimoff::testing {

class WasmBuilder {
 public:
  static void leb(std::string& out, std::uint64_t v) {
    do {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      if (v) b |= 0x80;
      out.push_back(static_cast<char>(b));
    } while (v);
  }
  static void sleb(std::string& out, std::int64_t v) {
    for (;;) {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
      out.push_back(static_cast<char>(done ? b : (b | 0x80)));
      if (done) return;
    }
  }
  static std::string name(const std::string& s) {
    std::string out;
    leb(out, s.size());
    return out + s;
  }
  // i32.const v
  static std::string i32(std::int32_t v) {
    std::string out("\x41", 1);
    sleb(out, v);
    return out;
  }

  // Function type from value-type letters ('i' i32, 'I' i64).
  std::uint32_t type(const std::string& params, const std::string& results) {
    std::string t("\x60", 1);
    auto codes = [&](const std::string& s) {
      leb(t, s.size());
      for (char c : s) t.push_back(c == 'I' ? '\x7e' : '\x7f');
    };
    codes(params);
    codes(results);
    types_.push_back(t);
    return static_cast<std::uint32_t>(types_.size() - 1);
  }
  // Function import; returns its function index.
  std::uint32_t import_func(const std::string& module, const std::string& field,
                            std::uint32_t type) {
    std::string e = name(module) + name(field);
    e.push_back('\0');
    leb(e, type);
    imports_.push_back(e);
    return functions_imported_++;
  }
  void import_memory(const std::string& module, const std::string& field) {
    std::string e = name(module) + name(field);
    e.append("\x02\x00\x01", 3);
    imports_.push_back(e);
  }
  void import_global(const std::string& module, const std::string& field) {
    std::string e = name(module) + name(field);
    e.append("\x03\x7f\x00", 3);
    imports_.push_back(e);
  }
  // A defined function: `locals` i32 locals, `body` instructions without the final `end`.
  std::uint32_t func(std::uint32_t type, std::uint64_t locals, const std::string& body) {
    functions_.push_back(type);
    std::string code;
    if (locals) {
      leb(code, 1);
      leb(code, locals);
      code.push_back('\x7f');
    } else {
      leb(code, 0);
    }
    code += body;
    code.push_back('\x0b');
    std::string entry;
    leb(entry, code.size());
    codes_.push_back(entry + code);
    return functions_imported_ + static_cast<std::uint32_t>(functions_.size() - 1);
  }
  void memory(std::uint32_t pages) {
    std::string m("\x00", 1);
    leb(m, pages);
    memories_.push_back(m);
  }
  void table(std::uint32_t size) {
    std::string t("\x70\x00", 2);
    leb(t, size);
    tables_.push_back(t);
  }
  // A mutable i32 global initialised to `value`; returns its index.
  std::uint32_t global(std::int32_t value) {
    std::string g("\x7f\x01", 2);
    g += i32(value);
    g.push_back('\x0b');
    globals_.push_back(g);
    return static_cast<std::uint32_t>(globals_.size() - 1);
  }
  // kind: 0 function, 1 table, 2 memory, 3 global
  void export_(const std::string& export_name, std::uint8_t kind, std::uint32_t index) {
    std::string e = name(export_name);
    e.push_back(static_cast<char>(kind));
    leb(e, index);
    exports_.push_back(e);
  }
  // Active data segment for memory 0 at `offset`.
  void data(std::uint32_t offset, const std::string& bytes) {
    std::string d("\x00", 1);
    d += i32(static_cast<std::int32_t>(offset));
    d.push_back('\x0b');
    leb(d, bytes.size());
    d += bytes;
    data_.push_back(d);
  }
  // A custom section (appended after the known sections).
  void custom(const std::string& section_name, const std::string& payload) {
    customs_.push_back(name(section_name) + payload);
  }
  // The "name" custom section with a module name, function names and local names (subsections
  // 0, 1 and 2 of the extended name section).
  void names(const std::string& module_name,
             const std::vector<std::pair<std::uint32_t, std::string>>& functions,
             const std::vector<std::pair<std::uint32_t, std::string>>& locals_of_first) {
    std::string payload;
    auto sub = [&](std::uint8_t id, const std::string& body) {
      payload.push_back(static_cast<char>(id));
      leb(payload, body.size());
      payload += body;
    };
    sub(0, name(module_name));
    std::string fn;
    leb(fn, functions.size());
    for (const auto& [index, n] : functions) {
      leb(fn, index);
      fn += name(n);
    }
    sub(1, fn);
    if (!functions.empty()) {
      std::string ln;
      leb(ln, 1);
      leb(ln, functions.front().first);
      leb(ln, locals_of_first.size());
      for (const auto& [index, n] : locals_of_first) {
        leb(ln, index);
        ln += name(n);
      }
      sub(2, ln);
    }
    custom("name", payload);
  }

  std::string bytes() const {
    std::string out("\0asm\x01\0\0\0", 8);
    section(out, 1, types_);
    section(out, 2, imports_);
    section(out, 3, functions_);
    section(out, 4, tables_);
    section(out, 5, memories_);
    section(out, 6, globals_);
    section(out, 7, exports_);
    section(out, 10, codes_);
    section(out, 11, data_);
    for (const auto& c : customs_) {
      out.push_back('\0');
      leb(out, c.size());
      out += c;
    }
    return out;
  }

 private:
  static void section(std::string& out, std::uint8_t id, const std::vector<std::string>& items) {
    if (items.empty()) return;
    std::string payload;
    leb(payload, items.size());
    for (const auto& i : items) payload += i;
    out.push_back(static_cast<char>(id));
    leb(out, payload.size());
    out += payload;
  }
  static void section(std::string& out, std::uint8_t id, const std::vector<std::uint32_t>& items) {
    std::vector<std::string> encoded;
    for (auto i : items) {
      std::string e;
      leb(e, i);
      encoded.push_back(e);
    }
    section(out, id, encoded);
  }

  std::vector<std::string> types_, imports_, tables_, memories_, globals_, exports_, codes_, data_,
      customs_;
  std::vector<std::uint32_t> functions_;
  std::uint32_t functions_imported_ = 0;
};

// A WASI command that prints `text` to stdout: imports fd_write, exports memory and _start.
// `extend` may add more (exports, sections …) before the bytes are taken.
inline WasmBuilder hello_module(const std::string& text = "hello\n",
                                const std::string& wasi_module = "wasi_snapshot_preview1") {
  WasmBuilder b;
  std::uint32_t fd_write_type = b.type("iiii", "i");
  std::uint32_t start_type = b.type("", "");
  std::uint32_t fd_write = b.import_func(wasi_module, "fd_write", fd_write_type);
  b.memory(1);
  b.data(16, text);
  std::string body;
  // iovec at 0: {buf = 16, len = text.size()}; fd_write(1, &iov, 1, &written = 8); drop
  body += WasmBuilder::i32(0) + WasmBuilder::i32(16) + std::string("\x36\x02\x00", 3);
  body += WasmBuilder::i32(4) + WasmBuilder::i32(static_cast<std::int32_t>(text.size())) +
          std::string("\x36\x02\x00", 3);
  body += WasmBuilder::i32(1) + WasmBuilder::i32(0) + WasmBuilder::i32(1) + WasmBuilder::i32(8);
  body.push_back('\x10');
  WasmBuilder::leb(body, fd_write);
  body.push_back('\x1a');
  std::uint32_t start = b.func(start_type, 0, body);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b;
}

}  // namespace wasimoff::testing
