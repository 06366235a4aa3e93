#include "provider/pipeline/task_pipeline.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "common/async.h"
#include "common/file_ref.h"

namespace wasimoff::pipeline {

using namespace asio::experimental::awaitable_operators;
using Status = TaskOutcome::Status;
namespace fs = std::filesystem;

namespace {

// An input file cannot be obtained; what() is the outcome's error text.
struct InputUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TaskOutcome stopped(Status status, std::string error) {
  TaskOutcome outcome;
  outcome.status = status;
  outcome.error = std::move(error);
  return outcome;
}

bool from_file_cache(const FileSource& source) {
  return source.kind != FileSource::Kind::kLocalPath;
}

}  // namespace

// The files of one task, held until its run ends (leases keep the cache from evicting them).
struct TaskPipeline::Resolved {
  std::string module_ref;
  fs::path module_path;
  cache::FileLease binary, rootfs;
};

TaskPipeline::TaskPipeline(asio::thread_pool& threads, cache::FileCache* cache,
                           engine::ModuleCompiler& compiler, pool::WorkerPool& pool)
    : threads_(threads), cache_(cache), compiler_(compiler), pool_(pool) {}

asio::awaitable<TaskOutcome> TaskPipeline::run(TaskInput input, pool::CancelToken* cancel) {
  Resolved resolved;
  try {
    resolved = co_await resolve(input);
  } catch (const InputUnavailable& e) {
    co_return stopped(Status::kInputUnavailable, e.what());
  }
  TaskOutcome outcome;
  if (cancel && cancel->cancelled())
    outcome = stopped(Status::kCancelled, "task canceled: " + cancel->reason());
  else if (auto stop = co_await compile(resolved, input.run, cancel))
    outcome = std::move(*stop);
  outcome.module_ref = resolved.module_ref;
  if (!outcome.ran()) co_return outcome;
  if (resolved.rootfs) input.run.rootfs_path = resolved.rootfs.path();
  outcome.response = co_await pool_.run(std::move(input.run), cancel);
  co_return outcome;
}

asio::awaitable<TaskPipeline::Resolved> TaskPipeline::resolve(TaskInput& input) {
  Resolved r;
  if (from_file_cache(input.binary)) {
    r.binary = co_await from_cache(input.binary, "binary");
    r.module_ref = r.binary.ref();
    r.module_path = r.binary.path();
  } else {
    fs::path wasm = input.binary.text;
    auto hash_job = [wasm] {
      std::ifstream in(wasm, std::ios::binary);
      if (!in) throw InputUnavailable("binary not found: " + wasm.string());
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return make_ref(bytes);
    };
    r.module_ref = co_await offload(threads_, std::move(hash_job));
    r.module_path = wasm;
  }
  if (!input.rootfs) co_return r;
  FileSource& rootfs = *input.rootfs;
  if (rootfs.kind == FileSource::Kind::kBytes) {
    input.run.rootfs_zip = std::move(rootfs.text);
  } else if (rootfs.kind == FileSource::Kind::kLocalPath) {
    std::error_code ec;
    if (!fs::is_regular_file(rootfs.text, ec))
      throw InputUnavailable("rootfs not found: " + rootfs.text);
    input.run.rootfs_path = fs::path(rootfs.text);
  } else {
    r.rootfs = co_await from_cache(rootfs, "rootfs");
  }
  co_return r;
}

asio::awaitable<cache::FileLease> TaskPipeline::from_cache(const FileSource& source,
                                                           const char* role) {
  const bool inline_bytes = source.kind != FileSource::Kind::kCacheRef;
  const std::string what = inline_bytes ? "(inline " + std::string(role) + ")" : source.text;
  try {
    if (!cache_) throw std::runtime_error("no file cache");
    if (inline_bytes) co_return co_await cache_->put(source.text);
    co_return co_await cache_->get(source.text);
  } catch (const std::exception& e) {
    spdlog::warn("{} {} unavailable: {}", role, what, e.what());
    throw InputUnavailable(std::string(role) + " not found in storage: " + what);
  }
}

asio::awaitable<std::optional<TaskOutcome>> TaskPipeline::compile(const Resolved& resolved,
                                                                  pool::TaskRun& run,
                                                                  pool::CancelToken* cancel) {
  try {
    if (auto ready = compiler_.compiled(resolved.module_ref)) {
      run.module = std::move(ready->path);
    } else if (!cancel) {
      run.module = (co_await compiler_.compile(resolved.module_ref, resolved.module_path)).path;
    } else {
      // A cancelled task stops waiting for the compiler (and the compilation stops when no
      // other task waits for it).
      auto compiled =
          co_await (settle(compiler_.compile(resolved.module_ref, resolved.module_path)) ||
                    cancel->event().wait());
      if (compiled.index() == 1)
        co_return stopped(Status::kCancelled, "task canceled: " + cancel->reason());
      run.module = std::get<0>(compiled).take().path;
    }
  } catch (const engine::UnsupportedModule& e) {
    co_return stopped(Status::kUnsupported, e.what());
  } catch (const std::exception& e) {
    co_return stopped(Status::kHostProblem, e.what());
  }
  co_return std::nullopt;
}

}  // namespace wasimoff::pipeline
