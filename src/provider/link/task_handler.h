// What the native provider answers to the Broker's Requests (docs/protocol.md §9), independent of
// the connection: tasks (file resolution → compile → worker pool), Task.Cancel, Listing, Probe
// and Upload. Registered on each new Messenger by BrokerLink.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "protocol/messenger.h"
#include "provider/cache/file_cache.h"
#include "provider/engine/module_compiler.h"
#include "provider/pool/worker_pool.h"

namespace wasimoff::provider {

class TaskHandler {
 public:
  // The Broker's message size limit when it does not announce one (WASIMOFF_MAX_MESSAGE_SIZE's
  // default).
  static constexpr std::uint64_t kDefaultMessageLimit = 64ull << 20;

  TaskHandler(asio::any_io_executor ex, cache::FileCache& cache, engine::ModuleCompiler& compiler,
              pool::WorkerPool& pool);

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
  awaitable<cache::FileLease> fetch(const v1::File& file, const char* role);

  asio::any_io_executor ex_;
  cache::FileCache& cache_;
  engine::ModuleCompiler& compiler_;
  pool::WorkerPool& pool_;
  std::uint64_t message_limit_ = kDefaultMessageLimit;
  // Cancel tokens of running tasks by task id (ids are unique per Broker; a repeated id simply
  // shares the token).
  std::multimap<std::string, std::shared_ptr<pool::CancelToken>> running_;
};

}  // namespace wasimoff::provider
