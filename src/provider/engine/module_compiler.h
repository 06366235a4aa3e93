// Ahead-of-time compilation of WebAssembly modules into shared objects the workers load
// (docs/provider-internals.md §3.3), with a cache on disk. A module is attacker-controlled data
// until this pipeline has turned it into a checked shared object (docs/security.md).
//
// Pipeline per module:
//   1. admission, in-process (engine/module_admission.h): structure, limits, the task-module rules
//      and the WASI imports, then a rewrite into a canonical module without any of the client's
//      names. Only the canonical module reaches the tools.
//   2. `wasm-validate --disable-simd module.wasm`      (wasm2c 1.0.32 aborts on SIMD)
//   3. `wasm2c module.wasm --module-name=task -o task.c`
//   4. a generated glue.c exporting wasimoff_instance_size() & co. (engine/module_abi.h)
//   5. `cc -O2 -fPIC -shared -nostartfiles … task.c glue.c -lm -o module.so`
//   6. the shared object is inspected (engine/elf_check.h: no initialisers, IFUNCs, foreign
//      libraries, writable code …), made read-only and owned by us, and renamed into the cache.
// Steps 2, 3 and 5 run in a scratch directory through the ProcessSandbox (bubblewrap: no network,
// no host files but /usr, an unprivileged user when we are root) with rlimits on CPU time,
// memory, file size and (as the sandbox user) processes, awaited on the event loop.
//
// Time budget: each module gets `budget_base + budget_per_mib × code size` (at most
// `max_budget`) of wall-clock time for steps 2–5 together, and the same in CPU seconds per tool;
// a module that does not compile within it fails ("compile time budget … exceeded") and that
// failure is remembered like any other. Lanes: modules whose code section is at least
// `large_code_bytes` compile in a lane of their own (`max_parallel_large`), so a big or hostile
// module never holds up small ones (`max_parallel`). Cancellation: requests for the same module
// share one compilation (single flight); when the last request waiting for it goes away (its task
// was cancelled), the compilation is stopped and nothing is remembered.
//
// Errors: UnsupportedModule::what() is our own text (a category and our message), never tool
// output or host paths; the tools' output goes to the provider's log.
//
// Results are cached on disk by a key made of the module's ref, kModuleAbi, the wabt version and
// the C compiler's identity; failures are remembered for `failure_ttl` (10 minutes). The pipeline
// works on a private copy of the .wasm, so the input only has to exist when compile() starts, and
// a vanished input is a host error, never remembered as a broken module.
//
// Disk I/O, reading and hashing run on the thread pool given to the constructor. Everything else
// runs on the executor; the object itself is not thread-safe. The thread pool and the executor's
// io_context must outlive any compile in progress.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "provider/engine/module_admission.h"
#include "provider/engine/process_sandbox.h"

namespace wasimoff::engine {

namespace asio = boost::asio;

struct CompilerOptions {
  // e.g. <storage>/compiled; created if missing. A relative path is resolved against the
  // working directory when the compiler is constructed.
  std::filesystem::path cache_dir;
  // Where the tools' scratch directories are made; empty = cache_dir. With a sandbox user it must
  // be reachable by that user (the sandbox binds it from the host), e.g. under /var/tmp.
  std::filesystem::path scratch_dir;
  std::string cc = "cc";
  std::string wasm2c = "wasm2c";
  std::string wasm_validate = "wasm-validate";
  std::string runtime_dir = "/usr/share/wabt/wasm2c";  // wasm-rt-impl.h
  // nullptr: no sandbox (the tools run as this user, without namespaces; tests and wasimoff-run).
  std::shared_ptr<const ProcessSandbox> sandbox;
  std::size_t max_parallel = 0;        // small modules compiling at once; 0 = max(1, CPUs / 2)
  std::size_t max_parallel_large = 1;  // large modules compiling at once (their own lane)
  // Measured on 2 shared cores (BENCHMARKS.md, wasimoff-bench-compile): gcc -O2 takes 40-65 s per
  // MiB of WebAssembly code on a quiet machine, up to ~300 s for heavily inlined code while the
  // other core is busy; the budget leaves twice that and more.
  std::uint64_t large_code_bytes = 256u << 10;
  std::chrono::seconds budget_base{30};
  std::chrono::seconds budget_per_mib{600};
  std::chrono::seconds max_budget{600};
  std::uint64_t memory_bytes = 4ull << 30;  // RLIMIT_DATA per tool process
  // RLIMIT_NPROC of the sandbox user. It counts every process of that user on the host
  // (workers included), hence a dedicated --sandbox-user in production.
  std::uint64_t max_processes = 1024;
  // Compiles waiting for a slot, per lane; beyond that a request is answered "provider busy"
  // (a host problem: the Broker tries another provider).
  std::size_t max_waiting = 64;
  AdmissionLimits admission;
  std::chrono::seconds failure_ttl{600};
};

struct CompiledModule {
  std::string ref;
  std::filesystem::path path;  // the shared object to hand to a worker
  bool cached = false;         // true when no compiler ran for this request
};

// The module cannot run here (invalid, not a WASI command, compile failure …).
// what() is the full `unsupported module: <detail>` text for Task.Wasip1.Response.error; the
// detail is always ours.
class UnsupportedModule : public std::runtime_error {
 public:
  explicit UnsupportedModule(const std::string& detail)
      : std::runtime_error("unsupported module: " + detail) {}
};

// The wall-clock (and per-tool CPU) budget for a module with `code_bytes` of code.
std::chrono::seconds compile_budget(const CompilerOptions& options, std::uint64_t code_bytes);

class ModuleCompiler {
 public:
  ModuleCompiler(asio::any_io_executor ex, asio::thread_pool& pool, CompilerOptions options);
  ~ModuleCompiler();
  ModuleCompiler(const ModuleCompiler&) = delete;
  ModuleCompiler& operator=(const ModuleCompiler&) = delete;

  // The compiled module for `ref` (a `sha256:` ref), compiling `wasm_path` if needed. The caller
  // vouches that the file's content has that ref (the file cache verifies it).
  // Throws UnsupportedModule for problems of the module, std::runtime_error for problems of this
  // host (compiler missing, disk full …; not cached). Cancelling the caller stops the
  // compilation once no other caller waits for it.
  asio::awaitable<CompiledModule> compile(std::string ref, std::filesystem::path wasm_path);
  // The compiled module for `ref` if it is ready now (compiled before, not forgotten), without
  // waiting; nullopt otherwise (compile() then knows more). The per-task fast path.
  std::optional<CompiledModule> compiled(const std::string& ref) const;

  // Removes the compiled files and the remembered failure of `ref` (e.g. when the file cache
  // evicts the module). Workers that loaded it keep their mapping.
  asio::awaitable<void> forget(std::string ref);

  // Number of compiler pipelines started so far (not counting cache hits).
  std::uint64_t compilations() const;
  // Compilations running or waiting for a compiler slot.
  std::size_t in_flight() const;
  // Compilations stopped because nobody waited for them any more.
  std::uint64_t abandoned() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace wasimoff::engine
