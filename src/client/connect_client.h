// ConnectClient: the Broker's HTTP API from the client side — the Connect RPCs RunWasip1 and
// RunWasip1Job (docs/http-api.md §4, binary codec) and the storage routes (§6).
//
// Task calls run on a small pool of keep-alive connections (HTTP/1.1 allows one request per
// connection at a time), so up to `max_connections` tasks can be in flight; further calls wait
// for a free connection. Storage calls share one separate connection with the shorter I/O
// timeout. Everything runs on the executor given to the constructor; not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/broker_options.h"
#include "client/client_error.h"
#include "client/task_client.h"
#include "common/async_semaphore.h"
#include "net/http/client.h"

namespace wasimoff::client {

class ConnectClient final : public TaskClient {
 public:
  // Throws std::invalid_argument for a malformed broker address.
  ConnectClient(asio::any_io_executor ex, BrokerOptions options, std::size_t max_connections = 8);
  ~ConnectClient() override;

  // RunWasip1 / RunWasip1Job. Sends Connect-Timeout-Ms when options.task_timeout is set.
  awaitable<v1::Task::Wasip1::Response> run(v1::Task::Wasip1::Request request) override;
  awaitable<v1::Task::Wasip1::JobResponse> run_job(v1::Task::Wasip1::JobRequest request) override;
  void close() override;

  // POST /api/storage/upload[?name=]: stores `bytes` (a .wasm module or a ZIP archive) and
  // returns its ref ("sha256:…"); with `name` the alias points at it afterwards.
  awaitable<std::string> upload(std::string bytes, std::string name = {});
  // HEAD /api/storage/<ref-or-name>: true when the Broker holds it.
  awaitable<bool> exists(std::string ref_or_name);

  const BrokerAddress& address() const { return address_; }
  const BrokerOptions& options() const { return options_; }

 private:
  // One Connect unary call: POST the binary request, decode the binary response.
  awaitable<std::string> call(std::string method, std::string body);
  // A storage request on the storage connection; transport failures become ClientError.
  awaitable<http::ClientResponse> storage_request(std::string method, std::string target,
                                                  std::string body);

  asio::any_io_executor ex_;
  BrokerOptions options_;
  BrokerAddress address_;
  AsyncSemaphore task_slots_;
  std::vector<std::unique_ptr<http::HttpClient>> idle_;  // task connections not in use
  AsyncSemaphore storage_slot_;
  std::unique_ptr<http::HttpClient> storage_;
};

}  // namespace wasimoff::client
