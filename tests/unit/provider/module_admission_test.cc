// Module admission: the rewrite that keeps every name of a client's module away from the C
// compiler, and the structural checks and limits in front of it.
#include "provider/engine/module_admission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "provider/engine/wasm_module_info.h"
#include "provider/wasi/signatures.h"
#include "wasm_builder.h"

namespace wasimoff::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::hello_module;
using testing::WasmBuilder;

std::string rejection(const std::string& wasm, const AdmissionLimits& limits = {}) {
  try {
    admit_module(wasm, limits);
  } catch (const ModuleRejected& e) {
    return e.what();
  }
  return "(admitted)";
}

// Section ids of a binary, in order.
std::vector<int> section_ids(const std::string& wasm) {
  std::vector<int> ids;
  std::size_t pos = 8;
  while (pos < wasm.size()) {
    ids.push_back(static_cast<unsigned char>(wasm[pos++]));
    std::uint64_t size = 0;
    for (int shift = 0;; shift += 7) {
      auto c = static_cast<unsigned char>(wasm[pos++]);
      size |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
    }
    pos += size;
  }
  return ids;
}

// Every name the canonical module still carries.
std::vector<std::string> all_names(const std::string& wasm) {
  WasmModuleInfo info = parse_wasm_module(wasm);
  std::vector<std::string> names;
  for (const auto& i : info.imports) {
    names.push_back(i.module);
    names.push_back(i.name);
  }
  for (const auto& e : info.exports) names.push_back(e.name);
  return names;
}

const std::string kMarker = "XQZ";
const std::string kInjection =
    "*/ __attribute__((constructor)) static void XQZ(void) { } /*\n#include \"/etc/passwd\"\n";

TEST(ModuleAdmission, CanonicalModuleKeepsOnlyOurNames) {
  WasmBuilder b = hello_module();
  std::uint32_t g = b.global(7);
  b.table(1);
  b.export_(kInjection, 3, g);
  b.export_("memory2" + kInjection, 2, 0);
  b.export_(std::string("quote\"back\\slash\0nul", 20) + kMarker, 1, 0);
  b.export_("dup" + kMarker, 0, 1);
  b.names(kInjection, {{1, kInjection}}, {{0, kInjection}});
  b.custom(kInjection, kInjection);
  std::string in = b.bytes();
  ASSERT_NE(in.find(kMarker), std::string::npos);

  AdmittedModule out = admit_module(in);
  EXPECT_EQ(out.wasm.find(kMarker), std::string::npos);
  EXPECT_EQ(out.wasm.find("*/"), std::string::npos);
  EXPECT_EQ(out.wasm.find("passwd"), std::string::npos);
  for (const auto& n : all_names(out.wasm)) EXPECT_TRUE(is_canonical_name(n)) << n;
  // No custom section survives; the other sections keep their order.
  EXPECT_THAT(section_ids(out.wasm), ElementsAre(1, 2, 3, 4, 5, 6, 7, 10, 11));
  WasmModuleInfo info = parse_wasm_module(out.wasm);
  ASSERT_EQ(info.exports.size(), 2u);
  EXPECT_EQ(info.exports[0].name, "_start");
  EXPECT_EQ(info.exports[0].index, 1u);
  EXPECT_EQ(info.exports[1].name, "memory");
  EXPECT_EQ(out.initial_pages, 1u);
  EXPECT_EQ(out.functions, 1u);
  EXPECT_GT(out.code_bytes, 0u);
  EXPECT_EQ(check_command_module(info), "");
}

TEST(ModuleAdmission, RewriteIsIdempotentAndKeepsCodeAndData) {
  std::string in = hello_module("some data\n").bytes();
  AdmittedModule once = admit_module(in);
  EXPECT_EQ(admit_module(once.wasm).wasm, once.wasm);
  // Only the export section was rewritten (same entries, ours first); everything else is as it
  // was.
  EXPECT_EQ(once.wasm.size(), in.size());
  EXPECT_NE(once.wasm.find("some data\n"), std::string::npos);
}

TEST(ModuleAdmission, StructureIsChecked) {
  std::string good = hello_module().bytes();
  EXPECT_EQ(rejection("\0asn\x01\0\0\0"), "invalid module: not a WebAssembly binary (bad magic)");
  EXPECT_THAT(rejection(std::string("\0asm\x02\0\0\0", 8)), HasSubstr("binary version"));
  EXPECT_THAT(rejection(good.substr(0, good.size() - 3)), HasSubstr("unexpected end"));
  // A section id the format does not have, the exception-handling tag section, a repeated and
  // an out-of-order section.
  EXPECT_THAT(rejection(good + std::string("\x0e\x00", 2)), HasSubstr("unknown section id 14"));
  EXPECT_THAT(rejection(good + std::string("\x0d\x01\x00", 3)), HasSubstr("exception handling"));
  EXPECT_THAT(rejection(good + std::string("\x0b\x01\x00", 3)),
              HasSubstr("repeated or out of order"));
  EXPECT_THAT(rejection(good + std::string("\x01\x01\x00", 3)),
              HasSubstr("repeated or out of order"));
  // An over-long LEB128 size.
  EXPECT_THAT(rejection(std::string("\0asm\x01\0\0\0\x01\x80\x80\x80\x80\x80\x01", 15)),
              HasSubstr("LEB128"));
}

TEST(ModuleAdmission, LimitsStopCompileBombsBeforeAnyCompilerRuns) {
  AdmissionLimits limits;
  limits.max_locals_per_function = 1000;
  limits.max_function_body_bytes = 4096;
  limits.max_functions = 3;
  limits.max_module_bytes = 64 << 10;

  WasmBuilder locals = hello_module();
  locals.func(1, 1001, "");
  EXPECT_EQ(rejection(locals.bytes(), limits), "function 1 declares more than 1000 locals");

  WasmBuilder body = hello_module();
  body.func(1, 0, std::string(5000, '\x01'));  // 5000 nops
  EXPECT_EQ(rejection(body.bytes(), limits),
            "function 1 has 4.9 KiB of code, more than the limit of 4 KiB");

  WasmBuilder many = hello_module();
  for (int i = 0; i < 3; ++i) many.func(1, 0, "");
  EXPECT_EQ(rejection(many.bytes(), limits), "module declares more than 3 functions");

  EXPECT_EQ(rejection(std::string(65 << 10, 'x'), limits), "module is larger than 64 KiB");
}

// Counts are checked before the parser stores anything: a module of millions of tiny entries
// costs no more memory than its size (a 64 MB module of empty imports used to cost 2.4 GB).
TEST(ModuleAdmission, CountsAreBoundedBeforeAnythingIsStored) {
  auto module_with = [](int id, std::uint32_t count, const std::string& entry) {
    std::string payload;
    WasmBuilder::leb(payload, count);
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(count, 10); ++i) payload += entry;
    std::string out("\0asm\x01\0\0\0", 8);
    out.push_back(static_cast<char>(id));
    WasmBuilder::leb(out, payload.size());
    return out + payload;
  };
  EXPECT_EQ(rejection(module_with(2, 2'000'000, std::string("\0\0\0\0", 4))),
            "module declares more than 1000 imports");
  EXPECT_EQ(rejection(module_with(1, 5'000'000, std::string("\x60\0\0", 3))),
            "module declares more than 100000 function types");
  EXPECT_EQ(rejection(module_with(7, 3'000'000, std::string("\0\0\0", 3))),
            "module declares more than 100000 exports");
  EXPECT_EQ(rejection(module_with(5, 17, std::string("\0\1", 2))),
            "module declares more than 16 memories");
  // Millions of custom sections are skipped, not collected.
  std::string customs = hello_module().bytes();
  for (int i = 0; i < 200'000; ++i) customs += std::string("\0\x01\0", 3);
  EXPECT_EQ(admit_module(customs).wasm, admit_module(hello_module().bytes()).wasm);
}

TEST(ModuleAdmission, ImportsMustBeExactlyOurWasiFunctions) {
  WasmBuilder foreign = hello_module();
  foreign.import_func("env", "host\n#include \"/etc/passwd\"", 0);
  std::string why = rejection(foreign.bytes());
  EXPECT_THAT(why, HasSubstr("is not provided"));
  // The name is quoted escaped: one line, no raw control characters.
  EXPECT_THAT(why, HasSubstr("env.host\\n#include \"/etc/passwd\""));
  EXPECT_EQ(why.find('\n'), std::string::npos);

  WasmBuilder unknown = hello_module();
  unknown.import_func("wasi_snapshot_preview1", std::string("fd_write\0", 9) + kMarker, 0);
  EXPECT_THAT(rejection(unknown.bytes()),
              HasSubstr("fd_write\\x00XQZ is not a WASI preview 1 function"));

  WasmBuilder memory = hello_module();
  memory.import_memory("wasi_snapshot_preview1", "memory");
  EXPECT_THAT(rejection(memory.bytes()), HasSubstr("only functions can be imported"));

  WasmBuilder global = hello_module();
  global.import_global("wasi_snapshot_preview1", "g");
  EXPECT_THAT(rejection(global.bytes()), HasSubstr("only functions can be imported"));

  // Only our two module names, exactly: no prefix or suffix of them.
  WasmBuilder unstable = hello_module();
  unstable.import_func(std::string("wasi_unstable\0", 14) + kMarker, "fd_write", 0);
  EXPECT_THAT(rejection(unstable.bytes()),
              HasSubstr("wasi_unstable\\x00XQZ.fd_write is not provided"));

  WasmBuilder signature = hello_module();
  signature.import_func("wasi_snapshot_preview1", "proc_exit", 0);
  EXPECT_THAT(rejection(signature.bytes()), HasSubstr("has signature"));
}

TEST(ModuleAdmission, TaskModuleRulesStillApply) {
  WasmBuilder reactor;
  std::uint32_t t = reactor.type("", "");
  reactor.memory(1);
  std::uint32_t f = reactor.func(t, 0, "");
  reactor.export_("memory", 2, 0);
  reactor.export_("_initialize", 0, f);
  EXPECT_THAT(rejection(reactor.bytes()), HasSubstr("no _start function exported"));

  WasmBuilder no_memory;
  std::uint32_t t2 = no_memory.type("", "");
  no_memory.export_("_start", 0, no_memory.func(t2, 0, ""));
  EXPECT_THAT(rejection(no_memory.bytes()), HasSubstr("no memory exported"));
}

// --- WASI preview 0 (wasi_unstable) -------------------------------------------------------------

// The module name of each import of a canonical module.
std::vector<std::string> import_modules(const std::string& wasm) {
  std::vector<std::string> modules;
  for (const auto& i : parse_wasm_module(wasm).imports) modules.push_back(i.module);
  return modules;
}

struct Import {
  std::string module;
  std::string_view name, params, results;
};

// A command importing `imports` (calling none of them) with an empty _start.
WasmBuilder command_importing(const std::vector<Import>& imports) {
  WasmBuilder b;
  for (const Import& i : imports)
    b.import_func(i.module, std::string(i.name),
                  b.type(std::string(i.params), std::string(i.results)));
  b.memory(1);
  std::uint32_t start = b.func(b.type("", ""), 0, "");
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b;
}

// Every function of `table`, imported from `module`.
template <std::size_t N>
std::vector<Import> all_of(const std::string& module, const std::array<wasi::Signature, N>& table) {
  std::vector<Import> out;
  for (const wasi::Signature& s : table) out.push_back({module, s.name, s.params, s.results});
  return out;
}

TEST(ModuleAdmission, PreviewZeroModulesAreAccepted) {
  WasmBuilder b = hello_module("hi\n", "wasi_unstable");
  b.custom(kInjection, kInjection);
  AdmittedModule out = admit_module(b.bytes());
  EXPECT_TRUE(out.imports_unstable);
  EXPECT_FALSE(out.imports_preview1);
  EXPECT_THAT(import_modules(out.wasm), ElementsAre("wasi_unstable"));
  EXPECT_EQ(out.wasm.find(kMarker), std::string::npos);
  for (const auto& n : all_names(out.wasm)) EXPECT_TRUE(is_canonical_name(n)) << n;
  EXPECT_EQ(admit_module(out.wasm).wasm, out.wasm) << "idempotent";

  // All 45 functions of preview 0 with their signatures.
  AdmittedModule all =
      admit_module(command_importing(all_of("wasi_unstable", wasi::kUnstableSignatures)).bytes());
  WasmModuleInfo info = parse_wasm_module(all.wasm);
  ASSERT_EQ(info.imports.size(), wasi::kUnstableSignatures.size());
  for (std::size_t i = 0; i < wasi::kUnstableSignatures.size(); ++i) {
    EXPECT_EQ(info.imports[i].module, "wasi_unstable");
    EXPECT_EQ(info.imports[i].name, wasi::kUnstableSignatures[i].name);
    EXPECT_EQ(info.imports[i].type.params, wasi::kUnstableSignatures[i].params);
    EXPECT_EQ(info.imports[i].type.results, wasi::kUnstableSignatures[i].results);
  }
  // And all 46 of preview 1, unchanged.
  AdmittedModule p1 =
      admit_module(command_importing(all_of("wasi_snapshot_preview1", wasi::kSignatures)).bytes());
  EXPECT_TRUE(p1.imports_preview1);
  EXPECT_FALSE(p1.imports_unstable);
}

TEST(ModuleAdmission, PreviewZeroImportsMustMatchPreviewZero) {
  // sock_accept came with preview 1.
  WasmBuilder accept = hello_module("hi\n", "wasi_unstable");
  accept.import_func("wasi_unstable", "sock_accept", accept.type("iii", "i"));
  EXPECT_EQ(rejection(accept.bytes()),
            "import wasi_unstable.sock_accept is not a WASI preview 0 (wasi_unstable) function");

  // A signature that is not preview 0's (whence as i64).
  WasmBuilder seek = hello_module("hi\n", "wasi_unstable");
  seek.import_func("wasi_unstable", "fd_seek", seek.type("iIIi", "i"));
  EXPECT_EQ(rejection(seek.bytes()),
            "import wasi_unstable.fd_seek has signature (i32, i64, i64, i32) -> (i32), expected "
            "(i32, i64, i32, i32) -> (i32)");

  WasmBuilder exit = hello_module("hi\n", "wasi_unstable");
  exit.import_func("wasi_unstable", "proc_exit", 0);
  EXPECT_THAT(rejection(exit.bytes()), HasSubstr("wasi_unstable.proc_exit has signature"));

  // A hostile function name under wasi_unstable is quoted escaped, on one line.
  WasmBuilder hostile = hello_module("hi\n", "wasi_unstable");
  hostile.import_func("wasi_unstable", "fd_write" + kInjection, 0);
  std::string why = rejection(hostile.bytes());
  EXPECT_THAT(why, HasSubstr("is not a WASI preview 0 (wasi_unstable) function"));
  EXPECT_EQ(why.find('\n'), std::string::npos);

  // Functions and memories are still the only things; an imported memory under wasi_unstable is
  // refused like one under preview 1.
  WasmBuilder memory = hello_module("hi\n", "wasi_unstable");
  memory.import_memory("wasi_unstable", "memory");
  EXPECT_THAT(rejection(memory.bytes()), HasSubstr("only functions can be imported"));
}

TEST(ModuleAdmission, MixedModulesKeepEachImportsModule) {
  // preview 1 fd_write, then preview 0 fd_seek and proc_exit, then preview 1 sched_yield.
  WasmBuilder b = command_importing({{"wasi_snapshot_preview1", "fd_write", "iiii", "i"},
                                     {"wasi_unstable", "fd_seek", "iIii", "i"},
                                     {"wasi_unstable", "proc_exit", "i", ""},
                                     {"wasi_snapshot_preview1", "sched_yield", "", "i"}});
  AdmittedModule out = admit_module(b.bytes());
  EXPECT_TRUE(out.imports_preview1);
  EXPECT_TRUE(out.imports_unstable);
  EXPECT_THAT(import_modules(out.wasm), ElementsAre("wasi_snapshot_preview1", "wasi_unstable",
                                                    "wasi_unstable", "wasi_snapshot_preview1"));
  EXPECT_EQ(admit_module(out.wasm).wasm, out.wasm) << "idempotent";

  // Each import is checked against its own module's table: sock_accept is fine from preview 1
  // and refused from preview 0 in the same module.
  EXPECT_EQ(rejection(command_importing({{"wasi_snapshot_preview1", "sock_accept", "iii", "i"},
                                         {"wasi_unstable", "fd_write", "iiii", "i"}})
                          .bytes()),
            "(admitted)");
  WasmBuilder accept = command_importing({{"wasi_snapshot_preview1", "sock_accept", "iii", "i"},
                                          {"wasi_unstable", "sock_accept", "iii", "i"}});
  EXPECT_THAT(rejection(accept.bytes()), HasSubstr("wasi_unstable.sock_accept is not a WASI "
                                                   "preview 0 (wasi_unstable) function"));
}

TEST(ModuleAdmission, CanonicalNamesAreOnlyOurs) {
  EXPECT_TRUE(is_canonical_name("wasi_snapshot_preview1"));
  EXPECT_TRUE(is_canonical_name("wasi_unstable"));
  EXPECT_FALSE(is_canonical_name("wasi_unstable_preview0"));
  EXPECT_TRUE(is_canonical_name("fd_write"));
  EXPECT_TRUE(is_canonical_name("_start"));
  EXPECT_TRUE(is_canonical_name("memory"));
  EXPECT_FALSE(is_canonical_name("fd_write\n"));
  EXPECT_FALSE(is_canonical_name(""));
  EXPECT_FALSE(is_canonical_name("*/"));
}

}  // namespace
}  // namespace wasimoff::engine
