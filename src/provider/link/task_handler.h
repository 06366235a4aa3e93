// What the native provider answers to the Broker's Requests (docs/protocol.md §9), independent of
// the connection: tasks, Task.Cancel, Listing, Probe and Upload. Registered on each new Messenger
// by BrokerLink. A task runs through pipeline::TaskPipeline (file resolution → compile → worker
// pool); this class only translates the Request into its input and its outcome into the Reply
// (Envelope error or Response, trace events, the Broker's message size).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "contract/contract.h"
#include "protocol/messenger.h"
#include "provider/cache/file_cache.h"
#include "provider/pipeline/task_pipeline.h"

namespace wasimoff::provider {

class TaskHandler {
 public:
  // The Broker's message size limit when it does not announce one (WASIMOFF_MAX_MESSAGE_SIZE's
  // default).
  static constexpr std::uint64_t kDefaultMessageLimit = contract::limits::kMaxMessageSizeDefault;

  // `pipeline` resolves task files through `cache` (the one that Listing, Probe and Upload serve).
  TaskHandler(asio::any_io_executor ex, cache::FileCache& cache, pipeline::TaskPipeline& pipeline);

  // Serves every Request type a provider must answer on `messenger`.
  void serve(protocol::Messenger& messenger);

  // Runs one Wasip1 task. A required input file that cannot be obtained is an Envelope error
  // (Reply::fail) so the Broker retries elsewhere; everything else is a Response.
  awaitable<protocol::Reply> run_wasip1(v1::Task::Wasip1::Request& request);

  // Stops the task with this id (idempotent).
  void cancel(const std::string& id, const std::string& reason);
  // Cancels every running task (e.g. the provider is being killed).
  void cancel_all(const std::string& reason);
  std::size_t running() const { return running_.size(); }

  // The largest message the Broker accepts (learnt from its discovery document). Task outputs are
  // limited to this minus 1 MiB, and a Response that would still not fit becomes the error
  // `output too large` instead of a message the Broker would refuse.
  void set_message_limit(std::uint64_t bytes) { message_limit_ = bytes; }
  std::uint64_t message_limit() const { return message_limit_; }

 private:
  // The pipeline's input for a request that has a binary (params are moved out of `request`);
  // the pool appends its trace events to `info`.
  pipeline::TaskInput task_input(v1::Task::Wasip1::Request& request,
                                 v1::Task::Metadata& info) const;
  // The Reply for a pipeline outcome; `response` carries the request's metadata.
  protocol::Reply answer(pipeline::TaskOutcome outcome, v1::Task::Wasip1::Response response) const;

  asio::any_io_executor ex_;
  cache::FileCache& cache_;
  pipeline::TaskPipeline& pipeline_;
  std::uint64_t message_limit_ = kDefaultMessageLimit;
  // Cancel tokens of running tasks by task id (ids are unique per Broker; a repeated id simply
  // shares the token).
  std::multimap<std::string, std::shared_ptr<pool::CancelToken>> running_;
};

}  // namespace wasimoff::provider
