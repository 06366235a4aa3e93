// The task entry point shared by every client API (Connect, CGI, client WebSocket): metadata,
// validation and file resolution (docs/scheduling.md §10–11), effective deadline (§7), admission,
// and waiting for the outcome while watching for the client going away.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "broker/storage/file_storage.h"
#include "broker/tasks/module_facts.h"
#include "broker/tasks/scheduler.h"
#include "common/async.h"
#include "contract/contract.h"

namespace wasimoff::broker {

using SystemTime = std::chrono::system_clock::time_point;

// What a caller knows about its client.
struct ClientContext {
  std::string requester;               // remote "ip:port"
  std::optional<SystemTime> deadline;  // e.g. from Connect-Timeout-Ms
  OneShotEvent* gone = nullptr;        // fires when the client disconnects
};

class TaskService {
 public:
  struct Options {
    FileStorage& storage;
    Scheduler& scheduler;
    asio::thread_pool& pool;
    std::size_t queue_size;
    std::uint64_t max_upload_size;
    std::chrono::milliseconds task_timeout{0};  // zero = none
    // WASIMOFF_MAX_MESSAGE_SIZE: no task is sent to a provider in a larger message.
    std::uint64_t max_message_size = contract::limits::kMaxMessageSizeDefault;
    // WASIMOFF_MAX_JOB_SIZE: bound on a job's size when every task is sent, parent fields
    // counted once per task that inherits them.
    std::uint64_t max_job_size = 1ull << 30;
  };

  explicit TaskService(Options options)
      : options_(options), modules_(options.storage, options.pool) {}

  awaitable<Result<v1::Task::Wasip1::Response>> run_wasip1(v1::Task::Wasip1::Request request,
                                                           ClientContext client);
  awaitable<Result<v1::Task::Pyodide::Response>> run_pyodide(v1::Task::Pyodide::Request request,
                                                             ClientContext client);
  awaitable<Result<v1::Task::Wasip1::JobResponse>> run_wasip1_job(
      v1::Task::Wasip1::JobRequest request, ClientContext client);
  awaitable<Result<v1::Filesystem::Upload::Response>> upload(
      v1::Filesystem::Upload::Request request);

  // Validates and resolves `params` in place (binary required for Wasip1); returns the problems
  // joined by "; " with the code of the first, and fills `required_refs`.
  std::optional<Status> resolve_wasip1(v1::Task::Wasip1::Params& params,
                                       std::vector<std::string>& required_refs) const;

 private:
  enum class FileRole { kBinary, kRootfs };
  std::optional<Status> resolve_file(v1::File& file, FileRole role,
                                     std::vector<std::string>& refs) const;
  v1::Task::Metadata make_info(const v1::Task::Metadata& client_info, std::string id,
                               const std::string& requester) const;
  std::optional<SystemTime> effective_deadline(const v1::Task::QoS& qos,
                                               const std::optional<SystemTime>& client) const;
  // `task too large: …` when a task would be sent to a provider in a message larger than
  // WASIMOFF_MAX_MESSAGE_SIZE; `wire_size` is the request's encoded size with inheritance.
  std::optional<Status> check_task_size(std::uint64_t wire_size) const;
  // Admits `task` and waits for its outcome; the client going away cancels it. Returns the
  // RPC-level error, if any (otherwise task->response() holds the answer).
  awaitable<std::optional<Status>> submit(const std::shared_ptr<Task>& task, ClientContext& client);

  // The steps of run_wasip1_job (docs/scheduling.md §9), in the order it takes them.
  struct JobParent;
  struct JobTasks;
  std::optional<Status> check_job_shape(const v1::Task::Wasip1::JobRequest& request) const;
  awaitable<JobParent> resolve_parent(v1::Task::Wasip1::JobRequest& request);
  // Builds task `i` into `tasks`: a Task ready for admission, or its early error.
  awaitable<void> add_job_task(v1::Task::Wasip1::JobRequest& request, int i,
                               const std::string& job_id, const ClientContext& client,
                               const JobParent& parent,
                               const std::optional<SystemTime>& job_deadline, JobTasks& tasks);
  std::optional<Status> resolve_job_task_files(v1::Task::Wasip1::Params& params,
                                               const JobParent& parent,
                                               std::vector<std::string>& refs) const;
  std::optional<Status> check_job_size(const JobTasks& tasks) const;
  awaitable<std::optional<Status>> await_job(const JobTasks& tasks,
                                             const std::optional<SystemTime>& job_deadline,
                                             const ClientContext& client);
  void collect_job(JobTasks& tasks, v1::Task::Wasip1::JobResponse& response) const;

  Options options_;
  ModuleFactsCache modules_;  // what placement knows about task binaries
};

}  // namespace wasimoff::broker
