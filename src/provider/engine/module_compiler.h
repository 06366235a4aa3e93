// Ahead-of-time compilation of WebAssembly modules into shared objects the workers dlopen
// (provider.md §3.3), with a cache on disk.
//
// Pipeline per module, each tool a child process awaited on the event loop (never blocking it):
//   1. `wasm-validate --disable-simd`   (wasm2c 1.0.32 aborts on SIMD instead of reporting it)
//   2. parse imports/exports in-process: a WASI command whose imports match wasi/signatures.h
//   3. `wasm2c m.wasm --module-name=task -o task.c`   (no feature flags, see the spec)
//   4. a generated glue.c exporting wasimoff_instance_size() & co. (engine/module_abi.h)
//   5. `cc -O2 -fPIC -shared -I<wasm2c runtime dir> task.c glue.c -lm -o …`
// Tools run with RLIMIT_CPU / RLIMIT_DATA and a wall-clock timeout, at most `max_parallel` at a
// time; output is written under a temporary name and renamed into place. Requests for the same
// module share one compilation (single flight). Results are cached on disk by a key made of the
// module's ref, kModuleAbi, the wabt version and the C compiler's identity; failures are
// remembered for `failure_ttl` (10 minutes) and reported as UnsupportedModule. The pipeline
// works on a private copy of the .wasm, so the input only has to exist when compile() starts,
// and a vanished input is a host error, never remembered as a broken module.
//
// Disk I/O, reading and hashing run on the thread pool given to the constructor. Everything else
// runs on the executor; the object itself is not thread-safe. The thread pool and the executor's
// io_context must outlive any compile in progress (compiles continue after the ModuleCompiler is
// destroyed only to finish writing their result).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wasimoff::engine {

namespace asio = boost::asio;

struct CompilerOptions {
  // e.g. <storage>/compiled; created if missing. A relative path is resolved against the
  // working directory when the compiler is constructed.
  std::filesystem::path cache_dir;
  std::string cc = "cc";
  std::string wasm2c = "wasm2c";
  std::string wasm_validate = "wasm-validate";
  std::string runtime_dir = "/usr/share/wabt/wasm2c";  // wasm-rt-impl.h
  std::size_t max_parallel = 0;                        // 0 = max(1, online CPUs / 2)
  std::chrono::seconds timeout{600};                   // wall clock per tool run
  std::uint64_t cpu_seconds = 600;                     // RLIMIT_CPU per tool run
  std::uint64_t memory_bytes = 4ull << 30;             // RLIMIT_DATA per tool run
  std::uint64_t max_module_bytes = 256ull << 20;       // larger .wasm files are rejected
  std::chrono::seconds failure_ttl{600};
};

struct CompiledModule {
  std::string ref;
  std::filesystem::path path;  // the shared object to hand to a worker
  bool cached = false;         // true when no compiler ran for this request
};

// The module cannot run here (invalid, not a WASI command, compiler failure …).
// what() is the full `unsupported module: <detail>` text for Task.Wasip1.Response.error.
class UnsupportedModule : public std::runtime_error {
 public:
  explicit UnsupportedModule(const std::string& detail)
      : std::runtime_error("unsupported module: " + detail) {}
};

class ModuleCompiler {
 public:
  ModuleCompiler(asio::any_io_executor ex, asio::thread_pool& pool, CompilerOptions options);
  ~ModuleCompiler();
  ModuleCompiler(const ModuleCompiler&) = delete;
  ModuleCompiler& operator=(const ModuleCompiler&) = delete;

  // The compiled module for `ref` (a `sha256:` ref), compiling `wasm_path` if needed. The caller
  // vouches that the file's content has that ref (the file cache verifies it).
  // Throws UnsupportedModule for problems of the module, std::runtime_error for problems of this
  // host (compiler missing, disk full …; not cached). Cancelling the caller does not stop a
  // compilation other callers may share; the result is still cached.
  asio::awaitable<CompiledModule> compile(std::string ref, std::filesystem::path wasm_path);

  // Removes the compiled files and the remembered failure of `ref` (e.g. when the file cache
  // evicts the module). Workers that loaded it keep their mapping.
  asio::awaitable<void> forget(std::string ref);

  // Number of compiler pipelines started so far (not counting cache hits).
  std::uint64_t compilations() const;
  // Compilations running or waiting for a compiler slot.
  std::size_t in_flight() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace wasimoff::engine
