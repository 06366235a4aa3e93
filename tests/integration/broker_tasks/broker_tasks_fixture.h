// Shared fixture of the Broker task tests: a real wasimoff-broker process, scripted test
// providers, and blocking helpers for the client APIs. All waits are bounded polls.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker_process.h"
#include "client_socket.h"
#include "sync_http.h"
#include "test_provider.h"

namespace wasimoff::testing {

using namespace std::chrono_literals;
namespace json = boost::json;

using HeaderList = std::vector<std::pair<std::string, std::string>>;
Headers make_headers(const HeaderList& list);

class BrokerTasks : public ::testing::Test {
 public:
  // Starts the broker with WASIMOFF_DEBUG=true (for /debug/state) plus `env`, and uploads
  // echo.wasm (`echo_ref`).
  void start_broker(std::map<std::string, std::string> env = {});
  BrokerProcess& broker() { return *broker_; }

  std::string provider_url() const;   // ws://127.0.0.1:<port>/api/provider/ws
  std::string client_ws_url() const;  // ws://127.0.0.1:<port>/api/client/ws
  TestProviderOptions provider_options(std::string name, std::uint32_t concurrency = 2) const;
  // Connects a provider and waits until the Broker registered it.
  std::unique_ptr<TestProvider> connect_provider(TestProviderOptions options);
  std::unique_ptr<TestProvider> connect_provider(std::string name, std::uint32_t concurrency = 2);

  // POST /api/storage/upload?name=<name>; returns the ref.
  std::string upload(const std::string& bytes, const std::string& name);

  // POST /api/client/wasimoff.v1.Tasks/<method> with a JSON body.
  ClientResponse rpc(const std::string& method, const std::string& body,
                     const HeaderList& headers = {}, std::chrono::milliseconds timeout = 60s);
  // The same in the background.
  std::future<ClientResponse> rpc_async(const std::string& method, const std::string& body,
                                        const HeaderList& headers = {});
  // RunWasip1 JSON for echo.wasm with argv = ["echo.wasm", args...]; `extra` is spliced into the
  // top-level object (e.g. R"("qos":{"priority":true})").
  std::string task_json(const std::vector<std::string>& args, const std::string& extra = "") const;

  static json::value parse(const std::string& body);
  // Decoded ok.stdout of a Task.Wasip1.Response in JSON ("" when absent).
  static std::string stdout_of(const json::value& response);
  // info.provider of a response.
  static std::string provider_of(const json::value& response);
  // RunWasip1 of task_json(args, extra); fails the test unless HTTP 200. Returns the body.
  json::value run_ok(const std::vector<std::string>& args, const std::string& extra = "");

  json::value debug_state();
  // The provider entry of /debug/state with that name (null when absent).
  json::value debug_provider(const std::string& name);
  std::uint64_t debug_number(const std::string& key);  // queue, backoff, active

  bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 30s);
  // Waits until /debug/state shows `queue` tasks queued.
  bool wait_queue(std::uint64_t queue, std::chrono::milliseconds timeout = 30s);

  std::unique_ptr<BrokerProcess> broker_;
  std::string client_token_;  // used by upload()
  std::string echo_ref;
};

// A raw HTTP request on its own TCP connection that the test can abandon (client disconnect).
class RawRequest {
 public:
  RawRequest(std::uint16_t port, const std::string& bytes);
  ~RawRequest();
  void disconnect();
  // Reads until the server closes or `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout = 30s);

 private:
  int fd_ = -1;
};

// "POST <path> HTTP/1.1" with Host, Content-Type: application/json and Content-Length.
std::string raw_post(const std::string& path, const std::string& body, const Headers& headers = {});

// RFC 3339 UTC timestamp `offset` from now (millisecond precision).
std::string rfc3339_from_now(std::chrono::milliseconds offset);

// Value of a Prometheus sample line `series` (full name with labels) in `text`, or -1 when absent.
double metric_value(const std::string& text, const std::string& series);

// Resident set size of a process in bytes (VmRSS of /proc/<pid>/status).
std::uint64_t rss_bytes(pid_t pid);

// The Response with sequence `seq` that `provider` received, if any.
std::optional<v1::Envelope> response_for(const TestProvider& provider, std::uint64_t seq);

// Sends a Ping Request with sequence `seq` outside the provider's Messenger (in its codec) and
// waits for the Broker's answer: everything the provider sent before has been processed then.
// Fails the test when no answer comes.
void barrier(TestProvider& provider, std::uint64_t seq);

}  // namespace wasimoff::testing
