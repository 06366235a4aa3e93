#include "broker/tasks/task_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <limits>

#include "common/file_ref.h"
#include "common/strings.h"
#include "protocol/task_trace.h"

namespace wasimoff::broker {

using namespace asio::experimental::awaitable_operators;
using Event = v1::Task::TraceEvent;
using google::protobuf::util::TimeUtil;

namespace {

// Collects problems; the first one decides the code (docs/scheduling.md §10).
struct Problems {
  std::optional<Status> first;
  std::string joined;
  void add(const Status& e) {
    if (!first) first = e;
    joined += (joined.empty() ? "" : "; ") + e.message();
  }
  std::optional<Status> result() const {
    if (!first) return std::nullopt;
    return Status{first->code(), joined};
  }
};

Status invalid(std::string message) {
  return invalid_argument(std::move(message));
}

// A client's qos.deadline as a time point. Timestamps after the year 2261 do not fit into
// nanoseconds since 1970 (TimeUtil would overflow); they are so far away that they are treated
// as "no deadline".
std::optional<SystemTime> deadline_of(const google::protobuf::Timestamp& ts) {
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000000000 - 1;
  if (ts.seconds() > kMaxSeconds) return std::nullopt;
  if (ts.seconds() < -kMaxSeconds) return SystemTime::min();
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::nanoseconds(TimeUtil::TimestampToNanoseconds(ts))));
}

// Bytes the Envelope, the Any and its type URL add around a task request (generous).
constexpr std::uint64_t kEnvelopeOverhead = 128;

// Encoded size of one length-delimited field with a one-byte tag.
std::uint64_t delimited_size(std::uint64_t length) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(length) + length;
}

// What each field of a job's parent adds to a task that inherits it (docs/scheduling.md §9), so the
// expanded size of a task is known without building the expanded request.
struct ParentWeights {
  std::uint64_t binary = 0, rootfs = 0, stdin = 0, args = 0, envs = 0, artifacts = 0;

  explicit ParentWeights(const v1::Task::Wasip1::Params& p) {
    if (p.has_binary()) binary = delimited_size(p.binary().ByteSizeLong());
    if (p.has_rootfs()) rootfs = delimited_size(p.rootfs().ByteSizeLong());
    if (p.has_stdin()) stdin = delimited_size(p.stdin().size());
    for (const auto& a : p.args()) args += delimited_size(a.size());
    for (const auto& e : p.envs()) envs += delimited_size(e.size());
    for (const auto& a : p.artifacts()) artifacts += delimited_size(a.size());
  }

  // Bytes a task with these own params inherits.
  std::uint64_t inherited_by(const v1::Task::Wasip1::Params& task) const {
    std::uint64_t n = 0;
    if (!task.has_binary()) n += binary;
    if (!task.has_rootfs()) n += rootfs;
    if (!task.has_stdin()) n += stdin;
    if (task.args().empty()) n += args;
    if (task.envs().empty()) n += envs;
    if (task.artifacts().empty()) n += artifacts;
    // The params message's own length prefix may grow by up to 9 bytes.
    return n == 0 ? 0 : n + 9;
  }
};

}  // namespace

std::optional<Status> TaskService::check_task_size(std::uint64_t wire_size) const {
  wire_size += kEnvelopeOverhead;
  if (wire_size <= options_.max_message_size) return std::nullopt;
  return resource_exhausted(
      "task too large: " + format_bytes(wire_size) + " when sent to a provider, the limit is " +
      format_bytes(options_.max_message_size) + " (WASIMOFF_MAX_MESSAGE_SIZE)");
}

std::optional<Status> TaskService::resolve_file(v1::File& file, FileRole role,
                                                std::vector<std::string>& refs) const {
  const char* what = role == FileRole::kBinary ? "binary" : "rootfs";
  std::string_view expected = role == FileRole::kBinary ? kMediaWasm : kMediaZip;
  bool has_blob = !file.blob().empty(), has_ref = !file.ref().empty();
  if (has_blob && has_ref) return invalid(std::string(what) + ": use either blob or ref, not both");
  if (!has_blob && !has_ref) return invalid(std::string(what) + ": file needs a blob or a ref");
  if (has_blob) {
    auto sniffed = sniff_media(file.blob());
    if (sniffed != expected)
      return invalid(role == FileRole::kBinary ? "binary is not a WebAssembly module"
                                               : "rootfs is not a ZIP archive");
    if (file.has_media() && !file.media().empty() && !is_media(file.media(), expected))
      return invalid(std::string(what) + ": media type " + file.media() +
                     " does not match the content");
    file.set_media(std::string(expected));
    return std::nullopt;
  }
  auto info = options_.storage.resolve(file.ref());
  if (!info) return not_found("file not found in storage: " + file.ref());
  if (info->media != expected)
    return invalid(std::string(what) + " " + file.ref() + " is not " +
                   (role == FileRole::kBinary ? "a WebAssembly module" : "a ZIP archive"));
  file.set_ref(info->ref);
  file.set_media(info->media);
  refs.push_back(info->ref);
  return std::nullopt;
}

std::optional<Status> TaskService::resolve_wasip1(v1::Task::Wasip1::Params& params,
                                                  std::vector<std::string>& refs) const {
  Problems problems;
  if (!params.has_binary())
    problems.add(invalid("binary is required"));
  else if (auto e = resolve_file(*params.mutable_binary(), FileRole::kBinary, refs))
    problems.add(*e);
  if (params.has_rootfs())
    if (auto e = resolve_file(*params.mutable_rootfs(), FileRole::kRootfs, refs)) problems.add(*e);
  return problems.result();
}

v1::Task::Metadata TaskService::make_info(const v1::Task::Metadata& client_info, std::string id,
                                          const std::string& requester) const {
  v1::Task::Metadata info;
  info.set_id(std::move(id));
  info.set_requester(requester);
  if (client_info.has_reference()) info.set_reference(client_info.reference());
  if (client_info.has_trace()) *info.mutable_trace() = client_info.trace();
  return info;
}

std::optional<SystemTime> TaskService::effective_deadline(
    const v1::Task::QoS& qos, const std::optional<SystemTime>& client) const {
  std::optional<SystemTime> d = client;
  auto consider = [&](SystemTime t) {
    if (!d || t < *d) d = t;
  };
  if (qos.has_deadline())
    if (auto t = deadline_of(qos.deadline())) consider(*t);
  if (options_.task_timeout.count() > 0)
    consider(options_.scheduler.clock().system_now() + options_.task_timeout);
  return d;
}

awaitable<std::optional<Status>> TaskService::submit(const std::shared_ptr<Task>& task,
                                                     ClientContext& client) {
  if (auto err = options_.scheduler.admit(task)) co_return err;
  {
    // A client that leaves cancels its task; the cancellation is posted, as a coroutine woken by
    // the event would have run it (set() runs inside the HTTP server's read path).
    std::optional<OneShotEvent::Subscription> on_gone;
    if (client.gone) {
      on_gone.emplace(*client.gone, [this, weak = std::weak_ptr<Task>(task)] {
        asio::post(options_.scheduler.executor(), [this, weak] {
          if (auto t = weak.lock(); t && !t->done().is_set())
            options_.scheduler.cancel(t, "context canceled", canceled("context canceled"));
        });
      });
    }
    co_await task->done().wait();
  }
  if (!task->done().is_set())  // our own coroutine was cancelled (e.g. Broker shutdown)
    options_.scheduler.cancel(task, "context canceled", canceled("context canceled"));
  co_return task->error();
}

awaitable<Result<v1::Task::Wasip1::Response>> TaskService::run_wasip1(
    v1::Task::Wasip1::Request request, ClientContext client) {
  auto ex = co_await asio::this_coro::executor;
  *request.mutable_info() =
      make_info(request.info(), options_.scheduler.next_id(), client.requester);
  protocol::append_trace_event(*request.mutable_info(), Event::BrokerReceivedClientRequest);
  std::vector<std::string> refs;
  if (!request.has_params()) co_return invalid("params is required");
  if (auto err = resolve_wasip1(*request.mutable_params(), refs)) co_return *err;
  if (auto err = check_task_size(request.ByteSizeLong())) co_return *err;
  auto deadline = effective_deadline(request.qos(), client.deadline);
  auto module = co_await modules_.facts(request.params().binary());
  auto task = std::make_shared<Task>(ex, std::move(request), nullptr, options_.scheduler.clock());
  task->required_refs = std::move(refs);
  task->module = std::move(module);
  task->deadline = deadline;
  if (auto err = co_await submit(task, client)) co_return *err;
  auto response = std::move(std::get<v1::Task::Wasip1::Response>(*task->response()));
  protocol::append_trace_event(*response.mutable_info(), Event::BrokerTransmitClientResponse);
  co_return response;
}

awaitable<Result<v1::Task::Pyodide::Response>> TaskService::run_pyodide(
    v1::Task::Pyodide::Request request, ClientContext client) {
  auto ex = co_await asio::this_coro::executor;
  *request.mutable_info() =
      make_info(request.info(), options_.scheduler.next_id(), client.requester);
  protocol::append_trace_event(*request.mutable_info(), Event::BrokerReceivedClientRequest);
  if (!request.has_params()) co_return invalid("params is required");
  auto& params = *request.mutable_params();
  std::vector<std::string> refs;
  Problems problems;
  if (params.run_case() == v1::Task::Pyodide::Params::RUN_NOT_SET)
    problems.add(invalid("params needs a script or a pickle"));
  if (params.has_rootfs())
    if (auto e = resolve_file(*params.mutable_rootfs(), FileRole::kRootfs, refs)) problems.add(*e);
  if (auto err = problems.result()) co_return *err;
  if (auto err = check_task_size(request.ByteSizeLong())) co_return *err;
  auto deadline = effective_deadline(request.qos(), client.deadline);
  auto task = std::make_shared<Task>(ex, std::move(request), nullptr, options_.scheduler.clock());
  task->required_refs = std::move(refs);
  task->deadline = deadline;
  if (auto err = co_await submit(task, client)) co_return *err;
  auto response = std::move(std::get<v1::Task::Pyodide::Response>(*task->response()));
  protocol::append_trace_event(*response.mutable_info(), Event::BrokerTransmitClientResponse);
  co_return response;
}

// A job's parent, resolved once and shared by every task that inherits from it
// (Task::pack_request applies the inheritance when a task is sent); a task that inherits a field
// inherits its problems too.
struct TaskService::JobParent {
  std::shared_ptr<const v1::Task::Wasip1::Params> params;
  std::optional<Status> binary_error, rootfs_error;
  std::vector<std::string> binary_refs, rootfs_refs;
  std::optional<ParentWeights> weights;
  std::shared_ptr<const ModuleFacts> module;  // the parent's binary, hashed and parsed once
};

// The tasks of a job by index: a Task, or the error that kept it from being admitted.
struct TaskService::JobTasks {
  explicit JobTasks(std::size_t n) : tasks(n), early_errors(n), infos(n) {}
  std::vector<std::shared_ptr<Task>> tasks;
  std::vector<std::optional<std::string>> early_errors;
  std::vector<v1::Task::Metadata> infos;
  std::vector<std::shared_ptr<Task>> admissible;  // the non-null entries of `tasks`
  std::uint64_t size = 0;                         // Σ expanded size of the admissible tasks
};

awaitable<Result<v1::Task::Wasip1::JobResponse>> TaskService::run_wasip1_job(
    v1::Task::Wasip1::JobRequest request, ClientContext client) {
  if (auto err = check_job_shape(request)) co_return *err;
  std::string job_id = options_.scheduler.next_id();
  v1::Task::Metadata job_info = make_info(request.info(), job_id, client.requester);
  // Job-level bounds: the client's deadline and the job's qos.deadline fail the whole call.
  std::optional<SystemTime> job_deadline = client.deadline;
  if (request.qos().has_deadline())
    if (auto d = deadline_of(request.qos().deadline()); d && (!job_deadline || *d < *job_deadline))
      job_deadline = d;
  if (job_deadline && *job_deadline <= options_.scheduler.clock().system_now())
    co_return deadline_exceeded("deadline exceeded");
  JobParent parent = co_await resolve_parent(request);
  JobTasks tasks(static_cast<std::size_t>(request.tasks_size()));
  for (int i = 0; i < request.tasks_size(); ++i)
    co_await add_job_task(request, i, job_id, client, parent, job_deadline, tasks);
  if (auto err = check_job_size(tasks)) co_return *err;
  if (auto err = options_.scheduler.admit_all(tasks.admissible)) co_return *err;
  if (auto err = co_await await_job(tasks, job_deadline, client)) co_return *err;
  v1::Task::Wasip1::JobResponse response;
  *response.mutable_info() = job_info;
  collect_job(tasks, response);
  co_return response;
}

std::optional<Status> TaskService::check_job_shape(
    const v1::Task::Wasip1::JobRequest& request) const {
  if (request.tasks().empty()) return invalid("job has no tasks");
  if (static_cast<std::size_t>(request.tasks_size()) > options_.queue_size)
    return invalid("job too large: " + std::to_string(request.tasks_size()) +
                   " tasks, queue size is " + std::to_string(options_.queue_size));
  return std::nullopt;
}

awaitable<TaskService::JobParent> TaskService::resolve_parent(
    v1::Task::Wasip1::JobRequest& request) {
  auto params = std::make_shared<v1::Task::Wasip1::Params>();
  if (request.has_parent()) *params = std::move(*request.mutable_parent());
  request.clear_parent();
  JobParent parent;
  if (params->has_binary())
    parent.binary_error =
        resolve_file(*params->mutable_binary(), FileRole::kBinary, parent.binary_refs);
  if (params->has_rootfs())
    parent.rootfs_error =
        resolve_file(*params->mutable_rootfs(), FileRole::kRootfs, parent.rootfs_refs);
  parent.weights.emplace(*params);
  if (params->has_binary() && !parent.binary_error)
    parent.module = co_await modules_.facts(params->binary());
  parent.params = std::move(params);
  co_return parent;
}

awaitable<void> TaskService::add_job_task(v1::Task::Wasip1::JobRequest& request, int i,
                                          const std::string& job_id, const ClientContext& client,
                                          const JobParent& parent,
                                          const std::optional<SystemTime>& job_deadline,
                                          JobTasks& tasks) {
  auto idx = static_cast<std::size_t>(i);
  v1::Task::Wasip1::Request task_request;
  auto& params = *task_request.mutable_params();
  params = std::move(*request.mutable_tasks(i));
  if (request.has_qos()) *task_request.mutable_qos() = request.qos();
  auto* info = task_request.mutable_info();
  info->set_id(job_id + "/" + std::to_string(i));
  info->set_requester(client.requester);
  if (request.info().has_reference()) info->set_reference(request.info().reference());
  if (request.info().has_trace()) {
    info->mutable_trace()->set_created(request.info().trace().created());
    protocol::append_trace_event(*info, Event::BrokerReceivedClientRequest);
  }
  tasks.infos[idx] = *info;
  std::vector<std::string> refs;
  if (auto err = resolve_job_task_files(params, parent, refs)) {
    tasks.early_errors[idx] = err->message();
    co_return;
  }
  std::uint64_t wire = task_request.ByteSizeLong() + parent.weights->inherited_by(params);
  if (auto err = check_task_size(wire)) {
    tasks.early_errors[idx] = err->message();
    co_return;
  }
  tasks.size += wire + kEnvelopeOverhead;
  std::shared_ptr<const ModuleFacts> module = parent.module;
  if (params.has_binary()) module = co_await modules_.facts(params.binary());
  auto ex = co_await asio::this_coro::executor;
  auto task = std::make_shared<Task>(ex, std::move(task_request), parent.params,
                                     options_.scheduler.clock());
  task->required_refs = std::move(refs);
  task->module = std::move(module);
  // Per-task bound: the job deadline (forwarded to providers) and WASIMOFF_TASK_TIMEOUT.
  task->deadline = effective_deadline(v1::Task::QoS(), job_deadline);
  tasks.tasks[idx] = task;
  tasks.admissible.push_back(std::move(task));
}

std::optional<Status> TaskService::resolve_job_task_files(v1::Task::Wasip1::Params& params,
                                                          const JobParent& parent,
                                                          std::vector<std::string>& refs) const {
  Problems problems;
  if (params.has_binary()) {
    if (auto e = resolve_file(*params.mutable_binary(), FileRole::kBinary, refs)) problems.add(*e);
  } else if (parent.params->has_binary()) {
    if (parent.binary_error) problems.add(*parent.binary_error);
    refs.insert(refs.end(), parent.binary_refs.begin(), parent.binary_refs.end());
  } else {
    problems.add(invalid("binary is required"));
  }
  if (params.has_rootfs()) {
    if (auto e = resolve_file(*params.mutable_rootfs(), FileRole::kRootfs, refs)) problems.add(*e);
  } else if (parent.params->has_rootfs()) {
    if (parent.rootfs_error) problems.add(*parent.rootfs_error);
    refs.insert(refs.end(), parent.rootfs_refs.begin(), parent.rootfs_refs.end());
  }
  return problems.result();
}

std::optional<Status> TaskService::check_job_size(const JobTasks& tasks) const {
  if (tasks.size <= options_.max_job_size) return std::nullopt;
  return resource_exhausted("job too large: " + format_bytes(tasks.size) + " when its " +
                            std::to_string(tasks.admissible.size()) +
                            " tasks are sent to providers (parent fields count once per task "
                            "that inherits them), the limit is " +
                            format_bytes(options_.max_job_size) + " (WASIMOFF_MAX_JOB_SIZE)");
}

// Waits for every task; the client leaving or the job deadline fails the whole call and cancels
// what is left (docs/scheduling.md §9 item 9). Each task's own deadline timer in the scheduler
// fires at the same moment as ours: a task that ended with deadline_exceeded because of the job's
// deadline (not WASIMOFF_TASK_TIMEOUT) ends the job just the same.
awaitable<std::optional<Status>> TaskService::await_job(
    const JobTasks& tasks, const std::optional<SystemTime>& job_deadline,
    const ClientContext& client) {
  auto ended_by_job_deadline = [&job_deadline](const std::shared_ptr<Task>& t) {
    return job_deadline && t->deadline == job_deadline && t->error() &&
           t->error()->code() == StatusCode::kDeadlineExceeded;
  };
  bool gone = false, expired = false;
  for (const auto& t : tasks.admissible) {
    if (!t->done().is_set()) {
      Clock& clock = options_.scheduler.clock();
      auto left =
          job_deadline
              ? std::chrono::duration_cast<Clock::Duration>(*job_deadline - clock.system_now())
              : Clock::Duration::max() / 2;
      if (client.gone)
        co_await (t->done().wait() || client.gone->wait() || clock.sleep_for(left));
      else
        co_await (t->done().wait() || clock.sleep_for(left));
      if (!t->done().is_set()) {
        gone = client.gone && client.gone->is_set();
        expired = !gone;
        break;
      }
    }
    if (ended_by_job_deadline(t)) {
      expired = true;
      break;
    }
  }
  if (!gone && !expired) co_return std::nullopt;
  Status outcome = gone ? canceled("context canceled") : deadline_exceeded("deadline exceeded");
  for (const auto& t : tasks.admissible)
    options_.scheduler.cancel(t, gone ? "context canceled" : "deadline exceeded", outcome);
  co_return outcome;
}

void TaskService::collect_job(JobTasks& tasks, v1::Task::Wasip1::JobResponse& response) const {
  for (std::size_t idx = 0; idx < tasks.tasks.size(); ++idx) {
    auto* r = response.add_tasks();
    if (tasks.early_errors[idx]) {
      *r->mutable_info() = tasks.infos[idx];
      r->set_error(*tasks.early_errors[idx]);
      continue;
    }
    auto& t = tasks.tasks[idx];
    if (t->error()) {
      *r->mutable_info() = t->info();
      r->set_error(t->error()->message());
    } else {
      *r = std::move(std::get<v1::Task::Wasip1::Response>(*t->response()));
    }
    protocol::append_trace_event(*r->mutable_info(), Event::BrokerTransmitClientResponse);
  }
}

awaitable<Result<v1::Filesystem::Upload::Response>> TaskService::upload(
    v1::Filesystem::Upload::Request request) {
  if (!request.has_upload() || !request.upload().has_blob())
    co_return invalid("upload.blob is required");
  auto& file = *request.mutable_upload();
  if (file.blob().size() > options_.max_upload_size) co_return resource_exhausted("file too large");
  auto sniffed = sniff_media(file.blob());
  if (!sniffed ||
      (file.has_media() && !file.media().empty() && !is_media(file.media(), *sniffed))) {
    co_return invalid("unsupported filetype");
  }
  std::optional<std::string> alias;
  if (!file.ref().empty()) {
    if (auto ref = normalize_ref(file.ref())) {
      if (*ref != make_ref(file.blob())) co_return invalid("hash mismatch");
    } else if (auto why = check_alias(file.ref())) {
      co_return invalid("invalid name: " + *why);
    } else {
      alias = file.ref();
    }
  }
  try {
    auto& storage = options_.storage;
    // A named callable: GCC 12 destroys a capturing lambda written directly as an argument of a
    // co_await'ed coroutine call twice.
    auto store = [&storage, bytes = std::move(*file.mutable_blob()), alias]() mutable {
      return storage.store(std::move(bytes),
                           alias ? std::optional<std::string_view>(*alias) : std::nullopt);
    };
    auto info = co_await offload(options_.pool, std::move(store));
    v1::Filesystem::Upload::Response response;
    response.set_ref(info.ref);
    co_return response;
  } catch (const std::exception& e) {
    spdlog::error("upload: storing failed: {}", e.what());
  }
  co_return internal_error("inserting file in storage failed");
}

}  // namespace wasimoff::broker
