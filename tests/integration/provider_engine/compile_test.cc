// The compile pipeline with the real tools: wasm-validate, wasm2c, cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "engine_harness.h"

namespace wasimoff::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string compile_error(EngineHarness& h, const std::string& name) {
  try {
    h.compile(name);
  } catch (const engine::UnsupportedModule& e) {
    return e.what();
  }
  return "(compiled)";
}

// One compile() whose result lands in `out`. (A free function: a capturing lambda coroutine
// would outlive its closure.)
asio::awaitable<void> compile_into(engine::ModuleCompiler* c, std::string ref, fs::path path,
                                   std::vector<engine::CompiledModule>* out, int* done) {
  out->push_back(co_await c->compile(ref, path));
  ++*done;
}

TEST(Compile, ConcurrentRequestsForOneModuleCompileOnce) {
  TempDir cache;
  EngineHarness h(default_pool_options(), cache.path());
  fs::path path = fixture("hello");
  std::string ref = make_ref(read_file(path));
  std::vector<engine::CompiledModule> results;
  int done = 0;
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(h.ioc, compile_into(h.compiler.get(), ref, path, &results, &done),
                   asio::detached);
  while (done < 5) h.ioc.run_one();
  EXPECT_EQ(h.compiler->compilations(), 1u);
  ASSERT_EQ(results.size(), 5u);
  for (const auto& r : results) {
    EXPECT_EQ(r.path, results[0].path);
    EXPECT_TRUE(fs::is_regular_file(r.path));
  }
  // Later requests are answered from memory, and a new compiler finds the file on disk.
  EXPECT_TRUE(h.compile("hello").cached);
  EXPECT_EQ(h.compiler->compilations(), 1u);
  EngineHarness again(default_pool_options(), cache.path());
  engine::CompiledModule m = again.compile("hello");
  EXPECT_TRUE(m.cached);
  EXPECT_EQ(m.path, results[0].path);
  EXPECT_EQ(again.compiler->compilations(), 0u);
  // Only the finished shared object is left behind (no temporary directories).
  int files = 0;
  for (const auto& e : fs::directory_iterator(cache.path())) {
    EXPECT_EQ(e.path().extension(), ".so") << e.path();
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Compile, SignatureMismatchIsAnUnsupportedModule) {
  TempDir cache;
  EngineHarness h(default_pool_options(), cache.path());
  std::string err = compile_error(h, "bad_signature");
  EXPECT_EQ(err,
            "unsupported module: import wasi_snapshot_preview1.fd_write has signature (i32) -> "
            "(i32), expected (i32, i32, i32, i32) -> (i32)");
  // The failure is remembered: no second pipeline run, same answer.
  EXPECT_EQ(compile_error(h, "bad_signature"), err);
  EXPECT_EQ(h.compiler->compilations(), 1u);
  // forget() drops it (e.g. after the file cache evicted the module).
  h.await(h.compiler->forget(make_ref(read_file(fixture("bad_signature")))));
  EXPECT_EQ(compile_error(h, "bad_signature"), err);
  EXPECT_EQ(h.compiler->compilations(), 2u);
}

TEST(Compile, ModulesThatCannotRunAreRejectedWithAReason) {
  EngineHarness h;
  EXPECT_THAT(compile_error(h, "foreign_import"),
              HasSubstr("import env.host_function is not provided"));
  EXPECT_THAT(compile_error(h, "reactor"), HasSubstr("no _start function exported"));
  // SIMD: wasm2c 1.0.32 would abort; validation with SIMD disabled reports it instead, and the
  // client gets our category, not the validator's text.
  EXPECT_EQ(compile_error(h, "simd"),
            "unsupported module: invalid module: SIMD instructions are not supported");
}

TEST(Compile, InvalidBytesAreRejected) {
  TempDir dir;
  fs::path bogus = dir.path() / "bogus.wasm";
  std::ofstream(bogus) << "\0asm this is not a module";
  EngineHarness h;
  try {
    h.await(h.compiler->compile(make_ref(read_file(bogus)), bogus));
    FAIL();
  } catch (const engine::UnsupportedModule& e) {
    EXPECT_THAT(e.what(), StartsWith("unsupported module: invalid module"));
  }
}

TEST(Compile, EveryWasiFunctionResolvesInTheWorker) {
  // A module importing all 46 functions loads (dlopen RTLD_NOW) and runs.
  EngineHarness h;
  auto r = h.run("all_imports");
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 5);
}

TEST(Compile, EveryWasiUnstableFunctionResolvesInTheWorker) {
  // The same for the 45 functions of wasi_unstable (WASI preview 0): wasm2c imports them as
  // Z_wasi_unstableZ_<name> with a struct Z_wasi_unstable_instance_t*, which the worker exports.
  EngineHarness h;
  auto r = h.run("all_imports_unstable");
  ASSERT_TRUE(r.has_ok()) << EngineHarness::show(r);
  EXPECT_EQ(r.ok().status(), 5);
}

TEST(Compile, PreviewZeroAndMixedModulesRun) {
  EngineHarness h;
  auto hello = h.run("hello_unstable");
  ASSERT_TRUE(hello.has_ok()) << EngineHarness::show(hello);
  EXPECT_EQ(hello.ok().status(), 7);
  EXPECT_EQ(hello.ok().stdout(), "hello from wasi_unstable\n");
  // Both module names: wasm2c's instantiate takes two WASI instances, the glue passes both.
  auto mixed = h.run("mixed_imports");
  ASSERT_TRUE(mixed.has_ok()) << EngineHarness::show(mixed);
  EXPECT_EQ(mixed.ok().status(), 3);
  EXPECT_EQ(mixed.ok().stdout(), "mixed\n");
  // And no import at all: instantiate takes none.
  auto noop = h.run("noop");
  ASSERT_TRUE(noop.has_ok()) << EngineHarness::show(noop);
  EXPECT_EQ(noop.ok().status(), 0);
}

TEST(Compile, MissingCompilerIsAHostErrorNotAModuleError) {
  TempDir cache;
  EngineHarness h(default_pool_options(), cache.path());
  engine::CompilerOptions co;
  co.cache_dir = cache.path();
  co.cc = "/nonexistent/cc";
  engine::ModuleCompiler broken(h.ioc.get_executor(), h.threads, co);
  fs::path path = fixture("hello");
  try {
    h.await(broken.compile(make_ref(read_file(path)), path));
    FAIL();
  } catch (const engine::UnsupportedModule&) {
    FAIL() << "a broken host must not blame the module";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/cc"));
  }
}

TEST(Compile, VanishedInputIsNotRememberedAsABrokenModule) {
  TempDir cache;
  EngineHarness h(default_pool_options(), cache.path());
  fs::path real = fixture("hello");
  std::string ref = make_ref(read_file(real));
  EXPECT_THROW(
      {
        try {
          h.await(h.compiler->compile(ref, cache.path() / "evicted.wasm"));
        } catch (const engine::UnsupportedModule&) {
          FAIL() << "a missing input file is not the module's fault";
        }
      },
      std::runtime_error);
  engine::CompiledModule m = h.await(h.compiler->compile(ref, real));
  EXPECT_FALSE(m.cached);
  EXPECT_TRUE(fs::is_regular_file(m.path));
}

// `wasimoff-provider --storage run/cache` (what `make run` does): relative cache and input paths
// work although the tools run inside a scratch directory of the cache.
TEST(Compile, RelativeCacheAndInputPathsWork) {
  TempDir base;
  fs::create_directories(base.path() / "files");
  fs::copy_file(fixture("hello"), base.path() / "files" / "hello.wasm");
  std::string ref = make_ref(read_file(fixture("hello")));
  fs::path previous = fs::current_path();
  fs::current_path(base.path());
  struct RestoreCwd {
    fs::path dir;
    ~RestoreCwd() {
      std::error_code ec;
      fs::current_path(dir, ec);
    }
  } restore{previous};

  EngineHarness h(default_pool_options(), fs::path("run") / "compiled");
  engine::CompiledModule m = h.await(h.compiler->compile(ref, fs::path("files") / "hello.wasm"));
  EXPECT_FALSE(m.cached);
  EXPECT_TRUE(m.path.is_absolute()) << m.path;
  EXPECT_TRUE(fs::is_regular_file(base.path() / "run" / "compiled" / m.path.filename()));
  // And it runs (the reference module prints its greeting and exits with 7).
  auto result = h.run("hello");
  ASSERT_TRUE(result.has_ok()) << EngineHarness::show(result);
  EXPECT_EQ(result.ok().status(), 7);
  EXPECT_EQ(result.ok().stdout(), "hello from WAT\n");
}

}  // namespace
}  // namespace wasimoff::testing
