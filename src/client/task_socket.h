// TaskSocket: the asynchronous client WebSocket /api/client/ws (docs/protocol.md §10). Every call
// is an Envelope Request on one connection; the Broker handles them concurrently and answers out of
// order, so many tasks can be in flight on one socket. Callers bound how many they keep outstanding
// (the Messenger's send queue is bounded too and closes the socket on overflow).
//
// The WebSocket has no Connect-Timeout-Ms: with BrokerOptions::task_timeout, a request without an
// earlier qos.deadline gets deadline = now + task_timeout, which the Broker enforces the same way
// (docs/scheduling.md §7; client and Broker clocks are assumed to agree).
//
// RPC-level failures arrive as Envelope errors "<code>: <message>" and are thrown as
// ClientError with that Connect code. When the socket closes, every pending call throws
// ClientError(kUnreachable) — the Broker cancels the tasks of a closed socket.
//
// Everything runs on the executor given to connect(); not thread-safe.
#pragma once

#include <chrono>
#include <memory>

#include "client/broker_options.h"
#include "client/client_error.h"
#include "client/task_client.h"
#include "protocol/messenger.h"

namespace wasimoff::client {

class TaskSocket final : public TaskClient {
 public:
  // Opens the socket (binary subprotocol). Throws ClientError: kUnreachable when no connection
  // could be made, kHttp with the status when the Broker refused the upgrade (401 = token).
  static awaitable<std::unique_ptr<TaskSocket>> connect(asio::any_io_executor ex,
                                                        BrokerOptions options);
  ~TaskSocket() override;  // closes the socket

  awaitable<v1::Task::Wasip1::Response> run(v1::Task::Wasip1::Request request) override;
  awaitable<v1::Task::Wasip1::JobResponse> run_job(v1::Task::Wasip1::JobRequest request) override;
  // Closes with 1000; pending calls fail. Idempotent.
  void close() override;

  bool is_open() const { return !messenger_->is_closed(); }
  std::size_t pending_calls() const { return messenger_->pending_calls(); }

 private:
  TaskSocket(std::shared_ptr<protocol::Messenger> messenger, BrokerOptions options,
             BrokerAddress address);
  template <typename Resp>
  awaitable<Resp> call(const google::protobuf::Message& request);
  void apply_timeout(v1::Task::QoS* qos) const;

  std::shared_ptr<protocol::Messenger> messenger_;
  BrokerOptions options_;
  BrokerAddress address_;
};

// Sets qos.deadline to now + `timeout` unless it already holds an earlier deadline.
void set_deadline_within(v1::Task::QoS* qos, std::chrono::milliseconds timeout);

}  // namespace wasimoff::client
