// Test harness: a ModuleCompiler and a WorkerPool on one io_context, driven synchronously.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/async.h"
#include "common/file_ref.h"
#include "provider/engine/module_compiler.h"
#include "provider/pool/worker_pool.h"
#include "run_sync.h"
#include "temp_dir.h"

namespace wasimoff::testing {

namespace fs = std::filesystem;
namespace v1 = wasimoff::v1;

inline fs::path fixture(const std::string& name) {
  return fs::path(WASIMOFF_TEST_FIXTURES) / (name + ".wasm");
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline pool::PoolOptions default_pool_options() {
  pool::PoolOptions o;
  o.worker_path = WASIMOFF_TEST_WORKER;
  o.workers = 1;
  return o;
}

class EngineHarness {
 public:
  // `cache_dir` defaults to the compile cache shared by all tests of this suite (its key covers
  // the engine ABI, wabt and compiler, so reuse across runs is sound and keeps the suite fast).
  // `tweak` may change the compiler options (sandbox, budgets, lanes …) before construction.
  explicit EngineHarness(pool::PoolOptions options = default_pool_options(),
                         fs::path cache_dir = WASIMOFF_TEST_COMPILE_CACHE,
                         const std::function<void(engine::CompilerOptions&)>& tweak = {}) {
    engine::CompilerOptions co;
    co.cache_dir = std::move(cache_dir);
    if (tweak) tweak(co);
    compiler = std::make_unique<engine::ModuleCompiler>(ioc.get_executor(), threads, co);
    pool = std::make_unique<pool::WorkerPool>(ioc.get_executor(), std::move(options));
  }
  ~EngineHarness() {
    await(pool->shutdown());
    pool.reset();
    compiler.reset();
    threads.join();
  }

  // Runs `work` on the loop until it completes; rethrows its exception.
  template <typename T>
  T await(asio::awaitable<T> work) {
    return run_until_done(ioc, std::move(work));
  }
  void await(asio::awaitable<void> work) { run_until_done(ioc, std::move(work)); }
  // Lets the loop work for `d` (e.g. while a task runs).
  void wait_for(std::chrono::milliseconds d) { await(sleep_for(d)); }

  engine::CompiledModule compile(const std::string& name) { return compile_file(fixture(name)); }
  engine::CompiledModule compile_file(const fs::path& path) {
    return await(compiler->compile(make_ref(read_file(path)), path));
  }

  // Compiles the module at `path` and runs it (a module made by a test rather than a fixture).
  v1::Task::Wasip1::Response run_file(const fs::path& path,
                                      const std::function<void(pool::TaskRun&)>& setup = {}) {
    pool::TaskRun task;
    task.module = compile_file(path).path;
    task.params.add_args(path.filename().string());
    if (setup) setup(task);
    return await(pool->run(std::move(task)));
  }

  // Compiles `name` and runs it; `setup` may fill in params, rootfs, deadline …
  v1::Task::Wasip1::Response run(const std::string& name,
                                 const std::function<void(pool::TaskRun&)>& setup = {},
                                 pool::CancelToken* cancel = nullptr) {
    pool::TaskRun task;
    task.module = compile(name).path;
    task.params.add_args(name + ".wasm");
    if (setup) setup(task);
    return await(pool->run(std::move(task), cancel));
  }

  // The Response as text for assertion messages.
  static std::string show(const v1::Task::Wasip1::Response& r) {
    if (r.has_error()) return "error: " + r.error();
    return "status " + std::to_string(r.ok().status()) + ", stdout \"" + r.ok().stdout() +
           "\", stderr \"" + r.ok().stderr() + "\"";
  }

  asio::io_context ioc;
  asio::thread_pool threads{2};
  std::unique_ptr<engine::ModuleCompiler> compiler;
  std::unique_ptr<pool::WorkerPool> pool;
};

}  // namespace wasimoff::testing
