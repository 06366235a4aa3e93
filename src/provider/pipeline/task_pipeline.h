// The native provider's pipeline for one WASI task (docs/provider-internals.md §3): resolve the
// input files → compile the module (engine::ModuleCompiler) → run it in a worker
// (pool::WorkerPool). The broker link's TaskHandler and the standalone tool wasimoff-run both run
// tasks through it; they only translate their own input (a protobuf Request, a JSON spec) into a
// TaskInput and the TaskOutcome back.
//
// Why a folder of its own rather than engine/: it sits above engine/, pool/ and cache/ and uses
// all three, while none of them knows the others (the pool runs any compiled .so, the compiler
// any file). It is part of wasimoff_provider_core so both executables link it.
//
// Resolution: a file comes from the file cache (by ref, or inline bytes stored into it), from
// memory (inline bytes handed to the worker as they are; a rootfs only) or from a path of this
// host (wasimoff-run; the module is hashed on the thread pool to get its ref). A file that cannot
// be obtained stops the task with kInputUnavailable, before anything is compiled.
//
// Compilation: a module compiled before is taken without waiting; otherwise the pipeline waits
// for the compiler, and a cancelled task stops waiting (the compilation stops when no other task
// waits for it). Problems of the module are kUnsupported with the compiler's own text; anything
// else the compiler throws is a problem of this host: kHostProblem with the compiler's detail
// (which may contain host paths: a caller facing the Broker logs it and says less).
//
// Cancellation (optional CancelToken): checked after resolution, raced against the compiler,
// then handed to the pool, whose Response reports it like any other failure of a run.
//
// Runs on the executor of the compiler and the pool (one thread, not thread-safe); the file
// cache, compiler, pool and thread pool must outlive every run().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "provider/cache/file_cache.h"
#include "provider/engine/module_compiler.h"
#include "provider/pool/worker_pool.h"

namespace wasimoff::pipeline {

namespace asio = boost::asio;
namespace v1 = wasimoff::v1;

// Where one input file of a task comes from.
struct FileSource {
  enum class Kind {
    kCacheRef,    // `text` is a ref: the file cache's copy, downloaded when missing
    kCacheBytes,  // `text` is the content: stored into the file cache first
    kBytes,       // `text` is the content, handed to the worker as it is (a rootfs only; a
                  // binary must be a file to compile and is stored like kCacheBytes)
    kLocalPath,   // `text` is a path of this host
  };
  Kind kind = Kind::kCacheRef;
  std::string text;

  static FileSource cache_ref(std::string ref) { return {Kind::kCacheRef, std::move(ref)}; }
  static FileSource cache_bytes(std::string b) { return {Kind::kCacheBytes, std::move(b)}; }
  static FileSource bytes(std::string b) { return {Kind::kBytes, std::move(b)}; }
  static FileSource local(const std::filesystem::path& p) { return {Kind::kLocalPath, p.string()}; }
};

struct TaskInput {
  FileSource binary;
  std::optional<FileSource> rootfs;
  // Everything the worker needs but the module and the rootfs, which the pipeline fills in
  // (params, output limit, QoS deadline and immediate mode, trace).
  pool::TaskRun run;
};

struct TaskOutcome {
  enum class Status {
    kRan,               // `response` is the pool's answer (which may itself be an error)
    kInputUnavailable,  // `error`: e.g. "binary not found in storage: <ref>"
    kUnsupported,       // `error`: engine::UnsupportedModule's text ("unsupported module: …")
    kHostProblem,       // `error`: the compiler's detail (host paths possible; not for the Broker)
    kCancelled,         // `error`: "task canceled: <reason>" (before the task reached a worker)
  };
  Status status = Status::kRan;
  std::string error;
  std::string module_ref;               // once the binary was resolved (for logs)
  v1::Task::Wasip1::Response response;  // kRan only

  bool ran() const { return status == Status::kRan; }
};

class TaskPipeline {
 public:
  // `cache` may be nullptr when no input comes from it (wasimoff-run); `threads` hashes local
  // modules.
  TaskPipeline(asio::thread_pool& threads, cache::FileCache* cache,
               engine::ModuleCompiler& compiler, pool::WorkerPool& pool);

  // Runs one task. Never throws for problems of the task or its inputs (they are the outcome);
  // throws only what the pool throws when misused.
  asio::awaitable<TaskOutcome> run(TaskInput input, pool::CancelToken* cancel = nullptr);

 private:
  struct Resolved;
  asio::awaitable<Resolved> resolve(TaskInput& input);
  asio::awaitable<cache::FileLease> from_cache(const FileSource& source, const char* role);
  // Sets run.module, or returns why the task stops.
  asio::awaitable<std::optional<TaskOutcome>> compile(const Resolved& resolved, pool::TaskRun& run,
                                                      pool::CancelToken* cancel);

  asio::thread_pool& threads_;
  cache::FileCache* cache_;
  engine::ModuleCompiler& compiler_;
  pool::WorkerPool& pool_;
};

}  // namespace wasimoff::pipeline
