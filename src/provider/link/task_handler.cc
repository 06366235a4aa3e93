#include "provider/link/task_handler.h"

#include <spdlog/spdlog.h>

#include "common/file_ref.h"
#include "contract/contract.h"
#include "protocol/task_trace.h"

namespace wasimoff::provider {

using protocol::Reply;
using Event = v1::Task::TraceEvent;

using pipeline::FileSource;
using Status = pipeline::TaskOutcome::Status;

namespace {

// A v1::File as the pipeline's source, exactly as the Broker means it: inline bytes of the binary
// (or of a rootfs that also names a ref) are stored in the file cache, a ref alone is looked up
// there, and an inline rootfs without a ref goes to the worker as it is.
FileSource binary_source(v1::File& file) {
  if (!file.blob().empty()) return FileSource::cache_bytes(std::move(*file.mutable_blob()));
  return FileSource::cache_ref(file.ref());
}

FileSource rootfs_source(v1::File& file) {
  if (file.ref().empty()) return FileSource::bytes(std::move(*file.mutable_blob()));
  return binary_source(file);
}

// The QoS deadline as a time point. Seconds beyond ±2^33 (year 2242) would overflow in
// nanoseconds; such deadlines are treated as none (far future) or as already passed (far past).
std::optional<std::chrono::system_clock::time_point> deadline_of(const v1::Task::QoS& qos) {
  if (!qos.has_deadline()) return std::nullopt;
  const auto& d = qos.deadline();
  constexpr std::int64_t kLimit = std::int64_t{1} << 33;
  if (d.seconds() >= kLimit) return std::nullopt;
  auto ns =
      std::chrono::seconds(std::max(d.seconds(), -kLimit)) + std::chrono::nanoseconds(d.nanos());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
}

}  // namespace

TaskHandler::TaskHandler(asio::any_io_executor ex, cache::FileCache& cache,
                         pipeline::TaskPipeline& pipeline)
    : ex_(std::move(ex)), cache_(cache), pipeline_(pipeline) {}

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
          co_return Reply::fail(invalid_argument("upload.blob is required"));
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
          auto* cache_error = dynamic_cast<const cache::FileCacheError*>(&e);
          co_return Reply::fail(cache_error && cache_error->code() == StatusCode::kInvalidArgument
                                    ? invalid_argument("hash mismatch")
                                    : internal_error("upload not stored (see the provider's log)"));
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

  if (!request.params().has_binary()) {
    response.set_error("binary is required");
    co_return Reply::with(std::move(response));
  }
  pipeline::TaskInput input = task_input(request, info);
  auto outcome = co_await pipeline_.run(std::move(input), token.get());
  co_return answer(std::move(outcome), std::move(response));
}

pipeline::TaskInput TaskHandler::task_input(v1::Task::Wasip1::Request& request,
                                            v1::Task::Metadata& info) const {
  auto& params = *request.mutable_params();
  pipeline::TaskInput input;
  input.binary = binary_source(*params.mutable_binary());
  if (params.has_rootfs()) input.rootfs = rootfs_source(*params.mutable_rootfs());
  pool::TaskRun& run = input.run;
  run.params = std::move(params);
  run.deadline = deadline_of(request.qos());
  run.immediate = request.qos().immediate();
  // Outputs must fit into one message the Broker accepts (1 MiB left for the rest of it).
  constexpr std::uint64_t kHeadroom = 1 << 20;
  run.output_limit =
      message_limit_ > 2 * kHeadroom ? message_limit_ - kHeadroom : message_limit_ / 2;
  if (info.has_trace()) run.trace = info.mutable_trace();
  return input;
}

Reply TaskHandler::answer(pipeline::TaskOutcome outcome,
                          v1::Task::Wasip1::Response response) const {
  auto& info = *response.mutable_info();
  switch (outcome.status) {
    case Status::kInputUnavailable:
      // The Broker should retry elsewhere.
      protocol::append_trace_event(info, Event::ProviderError, outcome.error);
      return Reply::fail(wasimoff::unavailable(outcome.error));
    case Status::kHostProblem: {
      // A problem of this host (compiler missing, disk full): let the Broker try elsewhere. The
      // details stay in our log; the Broker (and maybe a client) gets a category.
      spdlog::error("compiling {} failed: {}", outcome.module_ref, outcome.error);
      const char* why = "provider cannot compile modules (host problem, see the provider's log)";
      protocol::append_trace_event(info, Event::ProviderError, why);
      return Reply::fail(internal_error(why));
    }
    case Status::kUnsupported:
      // Our own text (engine/module_compiler.h): no tool output, no host paths.
      protocol::append_trace_event(info, Event::ProviderError, outcome.error);
      response.set_error(outcome.error);
      return Reply::with(std::move(response));
    case Status::kCancelled:
      response.set_error(outcome.error);
      return Reply::with(std::move(response));
    case Status::kRan:
      break;
  }
  // Keep our metadata (with the pool's trace events) and take the outcome from the pool.
  auto out_info = std::move(info);
  response = std::move(outcome.response);
  *response.mutable_info() = std::move(out_info);
  protocol::append_trace_event(*response.mutable_info(), Event::ProviderTransmitResult);
  // The envelope adds a few bytes around the response; a response that would not fit is
  // answered with the error instead of a message the Broker would refuse (closing the link).
  if (response.ByteSizeLong() + 4096 > message_limit_) {
    response.clear_ok();
    response.set_error(std::string(contract::errors::kOutputTooLarge));
  }
  return Reply::with(std::move(response));
}

void TaskHandler::cancel(const std::string& id, const std::string& reason) {
  auto [begin, end] = running_.equal_range(id);
  for (auto it = begin; it != end; ++it) it->second->cancel(reason.empty() ? "canceled" : reason);
}

void TaskHandler::cancel_all(const std::string& reason) {
  for (auto& [id, token] : running_) token->cancel(reason);
}

}  // namespace wasimoff::provider
