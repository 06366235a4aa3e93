#include "provider/link/task_handler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "common/file_ref.h"
#include "protocol/task_trace.h"

namespace wasimoff::provider {

using namespace asio::experimental::awaitable_operators;
using protocol::Reply;
using Event = v1::Task::TraceEvent;

namespace {

// Thrown when an input file cannot be obtained: the Broker should retry elsewhere.
struct MissingInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

TaskHandler::TaskHandler(asio::any_io_executor ex, cache::FileCache& cache,
                         engine::ModuleCompiler& compiler, pool::WorkerPool& pool)
    : ex_(std::move(ex)), cache_(cache), compiler_(compiler), pool_(pool) {}

void TaskHandler::serve(protocol::Messenger& m) {
  m.serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> { co_return Reply::with(v1::Ping()); });
  m.serve<v1::Filesystem::Listing::Request>(
      [this](v1::Filesystem::Listing::Request&) -> awaitable<Reply> {
        v1::Filesystem::Listing::Response r;
        for (auto& ref : cache_.refs()) r.add_files(ref);
        co_return Reply::with(std::move(r));
      });
  m.serve<v1::Filesystem::Probe::Request>(
      [this](v1::Filesystem::Probe::Request& req) -> awaitable<Reply> {
        v1::Filesystem::Probe::Response r;
        auto ref = normalize_ref(req.file());
        r.set_ok(ref && cache_.contains(*ref));
        co_return Reply::with(std::move(r));
      });
  m.serve<v1::Filesystem::Upload::Request>(
      [this](v1::Filesystem::Upload::Request& req) -> awaitable<Reply> {
        if (!req.has_upload() || req.upload().blob().empty())
          co_return Reply::fail("upload.blob is required");
        std::optional<std::string> claimed;
        if (normalize_ref(req.upload().ref())) claimed = req.upload().ref();
        try {
          auto lease =
              co_await cache_.put(std::move(*req.mutable_upload()->mutable_blob()), claimed);
          v1::Filesystem::Upload::Response r;
          r.set_ref(lease.ref());
          co_return Reply::with(std::move(r));
        } catch (const std::exception& e) {
          // The details (paths of this host) stay in our log.
          spdlog::warn("upload from the broker not stored: {}", e.what());
          co_return Reply::fail(std::string(e.what()).find("hash mismatch") != std::string::npos
                                    ? "hash mismatch"
                                    : "upload not stored (see the provider's log)");
        }
      });
  m.serve<v1::Task::Cancel>([this](v1::Task::Cancel& req) -> awaitable<Reply> {
    cancel(req.id(), req.reason());
    co_return Reply::with(req);
  });
  m.serve<v1::Task::Wasip1::Request>([this](v1::Task::Wasip1::Request& req) -> awaitable<Reply> {
    co_return co_await run_wasip1(req);
  });
  // Pyodide needs a Python runtime; the native provider answers `not implemented` so the Broker
  // schedules such tasks on browser providers only.
}

awaitable<cache::FileLease> TaskHandler::fetch(const v1::File& file, const char* role) {
  try {
    if (!file.blob().empty()) co_return co_await cache_.put(file.blob());
    co_return co_await cache_.get(file.ref());
  } catch (const std::exception& e) {
    std::string what = file.blob().empty() ? file.ref() : "(inline " + std::string(role) + ")";
    spdlog::warn("{} {} unavailable: {}", role, what, e.what());
    throw MissingInput(std::string(role) + " not found in storage: " + what);
  }
}

awaitable<Reply> TaskHandler::run_wasip1(v1::Task::Wasip1::Request& request) {
  v1::Task::Wasip1::Response response;
  *response.mutable_info() = request.info();
  auto& info = *response.mutable_info();
  protocol::append_trace_event(info, Event::ProviderTaskReceived);
  const std::string id = request.info().id();
  auto token = std::make_shared<pool::CancelToken>(ex_);
  auto it = running_.emplace(id, token);
  struct Unregister {
    TaskHandler* self;
    decltype(it) pos;
    ~Unregister() { self->running_.erase(pos); }
  } unregister{this, it};

  auto& params = *request.mutable_params();
  if (!params.has_binary()) {
    response.set_error("binary is required");
    co_return Reply::with(std::move(response));
  }
  pool::TaskRun run;
  cache::FileLease binary, rootfs;
  try {
    binary = co_await fetch(params.binary(), "binary");
    if (params.has_rootfs()) {
      if (!params.rootfs().ref().empty())
        rootfs = co_await fetch(params.rootfs(), "rootfs");
      else
        run.rootfs_zip = params.rootfs().blob();
    }
  } catch (const MissingInput& e) {
    protocol::append_trace_event(info, Event::ProviderError, e.what());
    co_return Reply::fail(e.what());
  }
  if (token->cancelled()) {
    response.set_error("task canceled: " + token->reason());
    co_return Reply::with(std::move(response));
  }
  try {
    if (auto ready = compiler_.compiled(binary.ref())) {
      run.module = std::move(ready->path);
    } else {
      // A cancelled task stops waiting for the compiler (and the compilation stops when no
      // other task waits for it).
      auto compiled = co_await (settle(compiler_.compile(binary.ref(), binary.path())) ||
                                token->event().wait());
      if (compiled.index() == 1) {
        response.set_error("task canceled: " + token->reason());
        co_return Reply::with(std::move(response));
      }
      run.module = std::get<0>(compiled).take().path;
    }
  } catch (const engine::UnsupportedModule& e) {
    // Our own text (engine/module_compiler.h): no tool output, no host paths.
    protocol::append_trace_event(info, Event::ProviderError, e.what());
    response.set_error(e.what());
    co_return Reply::with(std::move(response));
  } catch (const std::exception& e) {
    // A problem of this host (compiler missing, disk full): let the Broker try elsewhere. The
    // details stay in our log; the Broker (and maybe a client) gets a category.
    spdlog::error("compiling {} failed: {}", binary.ref(), e.what());
    const char* why = "provider cannot compile modules (host problem, see the provider's log)";
    protocol::append_trace_event(info, Event::ProviderError, why);
    co_return Reply::fail(why);
  }
  if (rootfs) run.rootfs_path = rootfs.path();
  run.params = std::move(params);
  if (request.qos().has_deadline()) {
    // Seconds beyond ±2^33 (year 2242) would overflow in nanoseconds; such deadlines are
    // treated as none (far future) or as already passed (far past).
    const auto& d = request.qos().deadline();
    constexpr std::int64_t kLimit = std::int64_t{1} << 33;
    if (d.seconds() < kLimit) {
      auto ns = std::chrono::seconds(std::max(d.seconds(), -kLimit)) +
                std::chrono::nanoseconds(d.nanos());
      run.deadline = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
    }
  }
  run.immediate = request.qos().immediate();
  // Outputs must fit into one message the Broker accepts (1 MiB left for the rest of it).
  constexpr std::uint64_t kHeadroom = 1 << 20;
  run.output_limit =
      message_limit_ > 2 * kHeadroom ? message_limit_ - kHeadroom : message_limit_ / 2;
  if (info.has_trace()) run.trace = info.mutable_trace();
  auto result = co_await pool_.run(std::move(run), token.get());
  // Keep our metadata (with the pool's trace events) and take the outcome from the pool.
  auto out_info = std::move(info);
  response = std::move(result);
  *response.mutable_info() = std::move(out_info);
  protocol::append_trace_event(*response.mutable_info(), Event::ProviderTransmitResult);
  // The envelope adds a few bytes around the response; a response that would not fit is
  // answered with the error instead of a message the Broker would refuse (closing the link).
  if (response.ByteSizeLong() + 4096 > message_limit_) {
    response.clear_ok();
    response.set_error("output too large");
  }
  co_return Reply::with(std::move(response));
}

void TaskHandler::cancel(const std::string& id, const std::string& reason) {
  auto [begin, end] = running_.equal_range(id);
  for (auto it = begin; it != end; ++it) it->second->cancel(reason.empty() ? "canceled" : reason);
}

void TaskHandler::cancel_all(const std::string& reason) {
  for (auto& [id, token] : running_) token->cancel(reason);
}

}  // namespace wasimoff::provider
