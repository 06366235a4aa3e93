// The inspection of compiled modules (engine/elf_check.h) on shared objects built with the real
// C compiler: what our pipeline produces passes; every way of running code at load time is found.
#include "provider/engine/elf_check.h"

#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "engine_harness.h"

namespace wasimoff::testing {
namespace {

using ::testing::HasSubstr;

// Builds `source` into a shared object with our flags plus `extra`; returns its bytes.
std::string build(const TempDir& dir, const std::string& source, const std::string& extra = "") {
  std::ofstream(dir.path() / "m.c") << source;
  std::string cmd =
      "cd " + dir.path().string() +
      " && cc -O2 -fPIC -shared -nostartfiles -Wl,-z,noexecstack -Wl,-z,relro,-z,now " + extra +
      " m.c -lm -o m.so 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return read_file(dir.path() / "m.so");
}

const char* kPlain = "double f(double x) { return x * 2; }\n";

TEST(ElfCheck, WhatOurPipelineBuildsPasses) {
  TempDir dir;
  EXPECT_EQ(engine::check_compiled_module(build(dir, kPlain)), "");
  // And the real thing: a module through the whole compile pipeline.
  EngineHarness h;
  EXPECT_EQ(engine::check_compiled_module(read_file(h.compile("hello").path)), "");
}

TEST(ElfCheck, CodeThatRunsAtLoadTimeIsFound) {
  TempDir dir;
  EXPECT_THAT(engine::check_compiled_module(build(
                  dir, "int x;\n__attribute__((constructor)) static void c(void) { x = 1; }\n")),
              HasSubstr("initialiser or finaliser"));
  EXPECT_THAT(engine::check_compiled_module(build(
                  dir, "int x;\n__attribute__((destructor)) static void d(void) { x = 2; }\n")),
              HasSubstr("initialiser or finaliser"));
  EXPECT_THAT(
      engine::check_compiled_module(build(dir,
                                          "static int impl(void) { return 1; }\n"
                                          "static void* resolve(void) { return (void*)impl; }\n"
                                          "int f(void) __attribute__((ifunc(\"resolve\")));\n")),
      HasSubstr("IFUNC"));
  // With the C runtime's start files: DT_INIT/_init and the frame_dummy initialiser.
  std::ofstream(dir.path() / "m.c") << kPlain;
  std::string cmd = "cd " + dir.path().string() + " && cc -O2 -fPIC -shared m.c -o crt.so";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_THAT(engine::check_compiled_module(read_file(dir.path() / "crt.so")),
              HasSubstr("initialiser"));
}

TEST(ElfCheck, ForeignLibrariesPathsAndExecutableMemoryAreFound) {
  TempDir dir;
  EXPECT_THAT(engine::check_compiled_module(build(dir, kPlain, "-Wl,--no-as-needed -lz")),
              HasSubstr("library other than libc and libm"));
  EXPECT_THAT(engine::check_compiled_module(build(dir, kPlain, "-Wl,-rpath,/tmp/evil")),
              HasSubstr("search path"));
  EXPECT_THAT(engine::check_compiled_module(build(dir, kPlain, "-Wl,-z,execstack")),
              HasSubstr("executable stack"));
}

// Ways to make the worker's loader confuse two modules, or to make the checker read other bytes
// than the loader maps (found in review).
TEST(ElfCheck, ObjectsTheLoaderWouldConfuseOrReadDifferentlyAreFound) {
  TempDir dir;
  // The loader matches an already loaded object by its DT_SONAME, and keeps a NODELETE object
  // loaded under its name: either could hand one client's module to another client's task.
  EXPECT_THAT(engine::check_compiled_module(build(dir, kPlain, "-Wl,-soname,/proc/self/fd/5")),
              HasSubstr("library name"));
  EXPECT_THAT(engine::check_compiled_module(build(dir, kPlain, "-Wl,-z,nodelete")),
              HasSubstr("NODELETE"));
  std::string so = build(dir, kPlain);
  ASSERT_EQ(engine::check_compiled_module(so), "");
  // No section headers: the checks of that view must not be skippable.
  std::string no_sections = so;
  Elf64_Ehdr eh;
  std::memcpy(&eh, no_sections.data(), sizeof eh);
  eh.e_shnum = 0;
  std::memcpy(no_sections.data(), &eh, sizeof eh);
  EXPECT_THAT(engine::check_compiled_module(no_sections), HasSubstr("no section headers"));
  // PT_DYNAMIC whose file offset points at other bytes than its address: the loader uses the
  // address, so we must read what it reads.
  std::string moved = so;
  std::memcpy(&eh, moved.data(), sizeof eh);
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::size_t at = eh.e_phoff + i * sizeof(Elf64_Phdr);
    std::memcpy(&ph, moved.data() + at, sizeof ph);
    if (ph.p_type != PT_DYNAMIC) continue;
    moved.append(moved.substr(ph.p_offset, ph.p_filesz));  // a copy at the end of the file
    ph.p_offset = moved.size() - ph.p_filesz;
    std::memcpy(moved.data() + at, &ph, sizeof ph);
  }
  EXPECT_THAT(engine::check_compiled_module(moved), HasSubstr("disagree"));
}

TEST(ElfCheck, AnythingElseIsRejectedWithoutReadingOutOfBounds) {
  EXPECT_THAT(engine::check_compiled_module(""), HasSubstr("outside the file"));
  EXPECT_THAT(engine::check_compiled_module(std::string(64, '\0')), HasSubstr("not an ELF file"));
  TempDir dir;
  std::string so = build(dir, kPlain);
  // Every truncation and every single corrupted byte of the header tables gives an answer.
  for (std::size_t n = 0; n < so.size(); n += 97) {
    std::string cut = so.substr(0, n);
    EXPECT_NE(engine::check_compiled_module(cut), "") << n;
  }
  for (std::size_t i = 0; i < 4096 && i < so.size(); ++i) {
    std::string flipped = so;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
    (void)engine::check_compiled_module(flipped);  // must not crash (ASan checks the reads)
  }
  // An executable that is not a shared object.
  std::ofstream(dir.path() / "main.c") << "int main(void) { return 0; }\n";
  std::string cmd = "cd " + dir.path().string() + " && cc -no-pie main.c -o main";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_THAT(engine::check_compiled_module(read_file(dir.path() / "main")),
              HasSubstr("not a shared object"));
}

}  // namespace
}  // namespace wasimoff::testing
