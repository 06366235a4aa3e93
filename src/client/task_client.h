// TaskClient: submits WASI tasks and jobs to a Broker and waits for their results. Two
// implementations with identical semantics: ConnectClient (HTTP Connect RPC, docs/http-api.md §4)
// and TaskSocket (the asynchronous client WebSocket, docs/protocol.md §10).
//
// Contract: run() / run_job() return the Broker's response; an application-level failure of the
// task (trap, unsupported module, cancelled on the provider) is a normal result with
// Response.error set. Failures of the call itself throw ClientError. Calls may run concurrently
// (up to the implementation's bound); everything runs on one executor (not thread-safe).
#pragma once

#include "common/async.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::client {

class TaskClient {
 public:
  virtual ~TaskClient() = default;

  virtual awaitable<v1::Task::Wasip1::Response> run(v1::Task::Wasip1::Request request) = 0;
  virtual awaitable<v1::Task::Wasip1::JobResponse> run_job(
      v1::Task::Wasip1::JobRequest request) = 0;
  // Ends open connections; pending calls fail. Idempotent.
  virtual void close() = 0;
};

}  // namespace wasimoff::client
