// The inside of engine::ModuleCompiler (engine/module_compiler.h), shared by the files that
// implement it:
//
//   module_compiler.cc     the public API, single flight (one compilation per module, stopped when
//                          nobody waits), remembered failures, and the pipeline's order of steps
//   compiler_toolchain.cc  the tools: locating them, the toolchain identity, running one tool in
//                          the sandbox under the budget, and what each tool's failure means
//   compiled_cache.cc      the cache directory: file names, scratch directories, cached objects
//                          found on disk, installing a checked object, removing files
//
// Everything here runs on the executor except the free functions, which do disk I/O and run on
// the thread pool. Internal to engine/; not an API.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/async.h"
#include "common/async_semaphore.h"
#include "provider/engine/child_process.h"
#include "provider/engine/module_admission.h"
#include "provider/engine/module_compiler.h"

namespace wasimoff::engine {

namespace detail {

namespace fs = std::filesystem;

// Where a compile's scratch directory appears inside the sandbox.
inline constexpr const char* kSandboxWork = "/work";
// Largest compiled module we accept back from the compiler.
inline constexpr std::uint64_t kMaxObjectBytes = 4ull << 30;

// Thrown inside a pipeline when no request waits for its result any more.
struct Abandoned {};

// A tool's output for the provider's log: escaped, at most a few hundred bytes.
std::string for_log(const std::string& output);

// Builds an argv vector. (A function, not a braced list: GCC 12 rejects initializer lists inside
// co_await expressions with "array used as initializer".)
template <typename... A>
std::vector<std::string> argv(A&&... args) {
  std::vector<std::string> v;
  (v.emplace_back(std::forward<A>(args)), ...);
  return v;
}

// The C glue exporting the fixed entry points of engine/module_abi.h.
std::string glue_source(const AdmittedModule& a);

// --- cache directory and files (compiled_cache.cc; thread pool) ---
void write_file(const fs::path& path, std::string_view data);
// Reads a file of at most `max` bytes; larger files are a problem of the module.
std::string read_file(const fs::path& path, std::uint64_t max);
// Reads a file the sandbox user wrote: a regular file (no symlink followed), at most `max` bytes.
std::string read_regular_file(const fs::path& path, std::uint64_t max);
// A compiled object at `target` from an earlier process: nullopt if there is none, empty if it
// passes the inspection, otherwise why not (it is then removed).
std::optional<std::string> probe_cached(const fs::path& target);
// Inspects `dir`/module.so, makes a read-only copy owned by us and renames it to `target`.
// Throws UnsupportedModule when the object fails the inspection.
void install_object(const fs::path& dir, const fs::path& target, std::uint64_t max_object);
// Removes every compiled object of the module with this hex digest from `dir`.
void remove_compiled(const fs::path& dir, const std::string& hex);
// Removes scratch directories and half-written objects of crashed runs from the cache and
// scratch directories (only old ones: another compiler may share them).
void remove_leftovers(const CompilerOptions& options);

}  // namespace detail

struct ModuleCompiler::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor e, asio::thread_pool& p, CompilerOptions o)
      : ex(std::move(e)),
        pool(p),
        options(std::move(o)),
        small_slots(ex, options.max_parallel),
        large_slots(ex, options.max_parallel_large) {}

  struct Flight {
    explicit Flight(asio::any_io_executor ex) : done(ex), abandoned(std::move(ex)) {}
    OneShotEvent done;
    OneShotEvent abandoned;  // set when the last waiter left before `done`
    std::size_t waiters = 0;
    std::optional<CompiledModule> result;
    std::exception_ptr error;
  };
  struct Failure {
    std::exception_ptr error;
    std::chrono::steady_clock::time_point expires;
  };
  // Absolute paths of the tools (symlinks resolved: /etc/alternatives is not in the sandbox).
  struct Tools {
    std::string cc, wasm2c, wasm_validate;
  };
  // One compilation in its scratch directory, as the tool steps see it.
  struct Build {
    std::shared_ptr<Flight> flight;
    std::string ref;
    std::filesystem::path dir;  // scratch directory
    std::chrono::seconds budget;
    bool large = false;  // compiled in the large-module lane
    std::uint64_t code_bytes = 0;
    std::uint64_t file_size = 0;  // RLIMIT_FSIZE of the tools
    std::chrono::steady_clock::time_point deadline;
  };

  asio::any_io_executor ex;
  asio::thread_pool& pool;
  CompilerOptions options;
  AsyncSemaphore small_slots, large_slots;
  std::optional<Tools> tools;
  // Toolchain identity (part of the cache key); empty until known.
  std::string identity;
  std::string identity_tag;  // first 16 hex digits of sha256(identity), in cache file names
  std::string identity_error;
  std::shared_ptr<OneShotEvent> identity_pending;
  std::map<std::string, std::shared_ptr<Flight>> flights;  // by cache file name
  std::map<std::string, Failure> failures;                 // by cache file name
  std::map<std::string, std::filesystem::path> ready;      // by cache file name
  std::uint64_t compilations = 0;
  std::uint64_t abandoned_count = 0;

  const ProcessSandbox& sandbox() const { return *options.sandbox; }

  // --- the tools (compiler_toolchain.cc) ---
  // A tool run: rlimits, the sandbox, `scratch` (if any) as the working directory.
  SpawnOptions tool(std::vector<std::string> args, const std::filesystem::path& scratch,
                    std::chrono::seconds cpu, std::uint64_t file_size) const;
  // Runs a tool until it ends, `deadline` passes (timed_out) or the flight is abandoned (throws
  // Abandoned; the tool is killed with its process group).
  awaitable<ProcessResult> run(std::shared_ptr<Flight> flight, SpawnOptions s,
                               std::chrono::steady_clock::time_point deadline);
  // Resolves the tools and computes the toolchain identity once, in its own coroutine (a
  // cancelled caller must not leave the others waiting); failures are not remembered, so a
  // compiler installed later works.
  awaitable<void> compute_identity(std::shared_ptr<OneShotEvent> done);
  awaitable<void> ensure_identity();
  // Steps 2, 3 and 5 of the pipeline in b.dir. Each throws UnsupportedModule for the module's
  // failures (the budget included) and std::runtime_error for the host's.
  awaitable<ProcessResult> run_tool(const Build& b, const char* name,
                                    std::vector<std::string> args);
  awaitable<void> validate(const Build& b);
  awaitable<void> translate(const Build& b);
  awaitable<void> compile_c(const Build& b);

  // --- the cache directory (compiled_cache.cc) ---
  std::string file_name(const std::string& ref) const;
  // A fresh scratch directory the tools may write to (owned by the sandbox user).
  std::filesystem::path make_scratch() const;

  // --- single flight and the pipeline (module_compiler.cc) ---
  awaitable<CompiledModule> pipeline(std::shared_ptr<Flight> flight, std::string ref,
                                     std::filesystem::path wasm, std::filesystem::path target);
  // Step 1 (admission) to learn the lane and the budget; throws UnsupportedModule.
  awaitable<AdmittedModule> admit(std::filesystem::path wasm);
  awaitable<AsyncSemaphore::Permit> acquire_lane(const Build& b);
  // Steps 1 (again, for the canonical module) to 6 in b.dir.
  awaitable<void> build(const Build& b, std::filesystem::path wasm, std::filesystem::path target);
  awaitable<void> fly(std::shared_ptr<Flight> flight, std::string name, std::string ref,
                      std::filesystem::path wasm);
  // Failures are remembered for failure_ttl, at most kMaxFailures of them (expired ones go first,
  // then the one expiring soonest).
  void remember_failure(const std::string& name, std::exception_ptr error);
  void forget_flight(const std::string& name, const std::shared_ptr<Flight>& flight);
};

}  // namespace wasimoff::engine
