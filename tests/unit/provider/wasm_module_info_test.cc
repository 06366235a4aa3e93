#include "provider/engine/wasm_module_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/file_ref.h"

namespace wasimoff::engine {
namespace {

using ::testing::HasSubstr;

// The reference module of docs/provider-internals.md §6, as wat2wasm 1.0.32 writes it.
const std::string kReference(
    "\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x10\x03\x60\x04\x7f\x7f\x7f"
    "\x7f\x01\x7f\x60\x01\x7f\x00\x60\x00\x00\x02\x46\x02\x16\x77\x61"
    "\x73\x69\x5f\x73\x6e\x61\x70\x73\x68\x6f\x74\x5f\x70\x72\x65\x76"
    "\x69\x65\x77\x31\x08\x66\x64\x5f\x77\x72\x69\x74\x65\x00\x00\x16"
    "\x77\x61\x73\x69\x5f\x73\x6e\x61\x70\x73\x68\x6f\x74\x5f\x70\x72"
    "\x65\x76\x69\x65\x77\x31\x09\x70\x72\x6f\x63\x5f\x65\x78\x69\x74"
    "\x00\x01\x03\x02\x01\x02\x05\x03\x01\x00\x01\x07\x13\x02\x06\x6d"
    "\x65\x6d\x6f\x72\x79\x02\x00\x06\x5f\x73\x74\x61\x72\x74\x00\x02"
    "\x0a\x21\x01\x1f\x00\x41\x00\x41\x10\x36\x02\x00\x41\x04\x41\x0f"
    "\x36\x02\x00\x41\x01\x41\x00\x41\x01\x41\x08\x10\x00\x1a\x41\x07"
    "\x10\x01\x0b\x0b\x15\x01\x00\x41\x10\x0b\x0f\x68\x65\x6c\x6c\x6f"
    "\x20\x66\x72\x6f\x6d\x20\x57\x41\x54\x0a",
    186);

// Builds module binaries section by section (only what the parser reads; no code bodies).
class ModuleBuilder {
 public:
  std::uint32_t type(std::string params, std::string results) {
    types_.push_back({std::move(params), std::move(results)});
    return static_cast<std::uint32_t>(types_.size() - 1);
  }
  void import_func(std::string module, std::string name, std::uint32_t type) {
    std::string e = str(module) + str(name);
    e.push_back(0x00);
    leb(e, type);
    imports_.push_back(e);
    ++funcs_;
  }
  void import_memory(std::string module, std::string name) {
    std::string e = str(module) + str(name);
    e.push_back(0x02);
    e.push_back(0x00);
    leb(e, 1);
    imports_.push_back(e);
  }
  std::uint32_t func(std::uint32_t type) {
    functions_.push_back(type);
    return funcs_++;
  }
  void memory(std::uint8_t flags, std::uint64_t min, std::uint64_t max = 0) {
    std::string e;
    e.push_back(static_cast<char>(flags));
    leb(e, min);
    if (flags & 1) leb(e, max);
    memories_.push_back(e);
  }
  void export_(std::string name, std::uint8_t kind, std::uint32_t index) {
    std::string e = str(name);
    e.push_back(static_cast<char>(kind));
    leb(e, index);
    exports_.push_back(e);
  }
  std::string bytes() const {
    std::string out("\0asm\1\0\0\0", 8);
    std::vector<std::string> t;
    for (auto& [p, r] : types_) {
      std::string e(1, '\x60');
      leb(e, p.size());
      for (char c : p) e.push_back(code(c));
      leb(e, r.size());
      for (char c : r) e.push_back(code(c));
      t.push_back(e);
    }
    section(out, 1, t);
    section(out, 2, imports_);
    std::vector<std::string> f;
    for (auto x : functions_) {
      std::string e;
      leb(e, x);
      f.push_back(e);
    }
    section(out, 3, f);
    section(out, 5, memories_);
    section(out, 7, exports_);
    return out;
  }

 private:
  static char code(char c) {
    switch (c) {
      case 'i':
        return '\x7f';
      case 'I':
        return '\x7e';
      case 'f':
        return '\x7d';
      case 'F':
        return '\x7c';
    }
    return '\x7b';
  }
  static void leb(std::string& s, std::uint64_t v) {
    do {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      s.push_back(static_cast<char>(v ? b | 0x80 : b));
    } while (v);
  }
  static std::string str(const std::string& x) {
    std::string s;
    leb(s, x.size());
    return s + x;
  }
  static void section(std::string& out, std::uint8_t id, const std::vector<std::string>& items) {
    if (items.empty()) return;
    std::string body;
    leb(body, items.size());
    for (auto& i : items) body += i;
    out.push_back(static_cast<char>(id));
    leb(out, body.size());
    out += body;
  }
  std::vector<std::pair<std::string, std::string>> types_;
  std::vector<std::string> imports_, memories_, exports_;
  std::vector<std::uint32_t> functions_;
  std::uint32_t funcs_ = 0;
};

// A valid command: imports fd_write and proc_exit, exports _start and memory.
ModuleBuilder command() {
  ModuleBuilder b;
  std::uint32_t w = b.type("iiii", "i"), x = b.type("i", ""), s = b.type("", "");
  b.import_func("wasi_snapshot_preview1", "fd_write", w);
  b.import_func("wasi_snapshot_preview1", "proc_exit", x);
  std::uint32_t start = b.func(s);
  b.memory(0, 1);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b;
}

std::string check(const std::string& bytes) {
  return check_command_module(parse_wasm_module(bytes));
}

TEST(WasmModuleInfo, ReferenceModuleHasTheSpecRefAndQualifies) {
  EXPECT_EQ(make_ref(kReference),
            "sha256:d30064518ea7d977b0247647450b4f9c84ec151b15d7a9d6f7a608789bda5fd3");
  WasmModuleInfo info = parse_wasm_module(kReference);
  ASSERT_EQ(info.imports.size(), 2u);
  EXPECT_EQ(info.imports[0].name, "fd_write");
  EXPECT_EQ(describe(info.imports[0].type), "(i32, i32, i32, i32) -> (i32)");
  EXPECT_EQ(describe(info.imports[1].type), "(i32) -> ()");
  ASSERT_EQ(info.memories.size(), 1u);
  EXPECT_EQ(info.memories[0].initial_pages, 1u);
  EXPECT_EQ(check_command_module(info), "");
}

TEST(WasmModuleInfo, BuiltCommandQualifies) {
  EXPECT_EQ(check(command().bytes()), "");
}

TEST(WasmModuleInfo, RejectsSignatureMismatch) {
  ModuleBuilder b;
  std::uint32_t bad = b.type("i", "i"), s = b.type("", "");
  b.import_func("wasi_snapshot_preview1", "fd_write", bad);
  std::uint32_t start = b.func(s);
  b.memory(0, 1);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  EXPECT_EQ(check(b.bytes()),
            "import wasi_snapshot_preview1.fd_write has signature (i32) -> (i32), expected "
            "(i32, i32, i32, i32) -> (i32)");
}

TEST(WasmModuleInfo, RejectsI64WhereI32IsExpected) {
  ModuleBuilder b;
  std::uint32_t bad = b.type("iii", "i"),
                s = b.type("", "");  // clock_time_get wants (i32, i64, i32)
  b.import_func("wasi_snapshot_preview1", "clock_time_get", bad);
  std::uint32_t start = b.func(s);
  b.memory(0, 1);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  EXPECT_THAT(check(b.bytes()), HasSubstr("expected (i32, i64, i32) -> (i32)"));
}

TEST(WasmModuleInfo, RejectsForeignImports) {
  ModuleBuilder b;
  std::uint32_t t = b.type("", ""), s = b.type("", "");
  b.import_func("env", "foo", t);
  std::uint32_t start = b.func(s);
  b.memory(0, 1);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  EXPECT_THAT(check(b.bytes()), HasSubstr("import env.foo is not provided"));

  ModuleBuilder u;
  std::uint32_t t2 = u.type("iii", "i");
  u.import_func("wasi_unstable", "sock_accept", t2);
  EXPECT_THAT(check(u.bytes()),
              HasSubstr("import wasi_unstable.sock_accept is not a WASI preview 0 (wasi_unstable) "
                        "function"));

  ModuleBuilder v;
  std::uint32_t t4 = v.type("", "i");
  v.import_func("wasi_unstable_preview0", "sched_yield", t4);
  EXPECT_THAT(check(v.bytes()),
              HasSubstr("import wasi_unstable_preview0.sched_yield is not provided (only "
                        "wasi_snapshot_preview1 and wasi_unstable functions are)"));

  ModuleBuilder n;
  std::uint32_t t3 = n.type("", "i");
  n.import_func("wasi_snapshot_preview1", "thread_spawn", t3);
  EXPECT_THAT(check(n.bytes()), HasSubstr("not a WASI preview 1 function"));

  ModuleBuilder m;
  m.import_memory("env", "memory");
  EXPECT_THAT(check(m.bytes()), HasSubstr("only functions can be imported"));
}

TEST(WasmModuleInfo, RequiresStartAndMemoryExports) {
  ModuleBuilder reactor;
  std::uint32_t s = reactor.type("", "");
  std::uint32_t init = reactor.func(s);
  reactor.memory(0, 1);
  reactor.export_("memory", 2, 0);
  reactor.export_("_initialize", 0, init);
  EXPECT_THAT(check(reactor.bytes()), HasSubstr("no _start function"));

  ModuleBuilder args;
  std::uint32_t t = args.type("i", "");
  std::uint32_t start = args.func(t);
  args.memory(0, 1);
  args.export_("memory", 2, 0);
  args.export_("_start", 0, start);
  EXPECT_THAT(check(args.bytes()), HasSubstr("_start has signature (i32) -> ()"));

  ModuleBuilder nomem;
  std::uint32_t t2 = nomem.type("", "");
  nomem.export_("_start", 0, nomem.func(t2));
  nomem.memory(0, 1);
  EXPECT_THAT(check(nomem.bytes()), HasSubstr("no memory exported"));
}

TEST(WasmModuleInfo, RejectsUnsupportedMemories) {
  for (std::uint8_t flags : {0x03, 0x04}) {
    ModuleBuilder b;
    std::uint32_t s = b.type("", "");
    std::uint32_t start = b.func(s);
    b.memory(flags, 1, 2);
    b.export_("memory", 2, 0);
    b.export_("_start", 0, start);
    EXPECT_THAT(check(b.bytes()), HasSubstr(flags == 3 ? "shared" : "64-bit"));
  }
  ModuleBuilder two;
  std::uint32_t s = two.type("", "");
  std::uint32_t start = two.func(s);
  two.memory(0, 1);
  two.memory(0, 1);
  two.export_("memory", 2, 0);
  two.export_("_start", 0, start);
  EXPECT_THAT(check(two.bytes()), HasSubstr("more than one memory"));
}

TEST(WasmModuleInfo, MalformedBinariesAreParseErrors) {
  EXPECT_THROW(parse_wasm_module("not wasm"), WasmParseError);
  EXPECT_THROW(parse_wasm_module(std::string("\0asm\2\0\0\0", 8)), WasmParseError);
  std::string truncated = kReference.substr(0, 40);
  EXPECT_THROW(parse_wasm_module(truncated), WasmParseError);
  std::string overlong = std::string("\0asm\1\0\0\0", 8) + "\x01\xff\xff\xff\xff\xff\x01";
  EXPECT_THROW(parse_wasm_module(overlong), WasmParseError);
}

}  // namespace
}  // namespace wasimoff::engine
