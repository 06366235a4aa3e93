// Harness for the end-to-end tests of the real Broker with real native providers
// (wasimoff-provider processes running real wasm2c-compiled modules in worker processes).
//
// Everything is blocking and bounded: every wait has a timeout, every HTTP call has one, and a
// failure carries the relevant process output so a broken run can be diagnosed from the log.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker_process.h"
#include "process.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::testing {

struct ProviderSpec {
  std::string name;
  std::string transport = "websocket";  // auto | websocket | webtransport
  int workers = 2;
};

// One wasimoff-provider process with its own fresh cache directory (--storage), connected to
// `broker_url`. The destructor stops it (SIGTERM, then SIGKILL after a bounded wait).
class NativeProvider {
 public:
  NativeProvider(const std::string& broker_url, ProviderSpec spec);
  ~NativeProvider();
  NativeProvider(const NativeProvider&) = delete;
  NativeProvider& operator=(const NativeProvider&) = delete;

  const ProviderSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  ChildProcess& process() { return *process_; }
  std::string log() const { return process_->stderr_text(); }

  // SIGKILL the supervisor only (a crash): its workers must notice and exit by themselves.
  // Returns the exit status (128 + 9).
  int kill9();

  // A process identity that survives pid reuse: pid plus start time (/proc/<pid>/stat field 22).
  struct ProcessId {
    pid_t pid = 0;
    unsigned long long start_time = 0;
  };
  // The supervisor's live child processes (its workers, and compilers while one runs). Workers
  // lead their own process groups, so they are found by parent pid, not by group.
  std::vector<ProcessId> children() const;
  // How many of `processes` still run (zombies count as gone).
  static std::size_t still_running(const std::vector<ProcessId>& processes);

 private:
  ProviderSpec spec_;
  TempDir storage_;
  pid_t pid_ = -1;
  std::unique_ptr<ChildProcess> process_;
};

// Blocking calls against one Broker's HTTP API (binary Connect codec).
class BrokerApi {
 public:
  explicit BrokerApi(std::string base_url) : base_(std::move(base_url)) {}

  // POST /api/storage/upload?name=<alias>; returns the ref. Throws on any non-200 answer.
  std::string upload(const std::string& bytes, const std::string& alias) const;

  // Connect RunWasip1 / RunWasip1Job with application/proto. Throws std::runtime_error with the
  // HTTP status and the Connect error body when the call fails as a whole.
  v1::Task::Wasip1::Response run(const v1::Task::Wasip1::Request& request,
                                 std::chrono::milliseconds timeout = std::chrono::minutes(3)) const;
  v1::Task::Wasip1::JobResponse run_job(
      const v1::Task::Wasip1::JobRequest& job,
      std::chrono::milliseconds timeout = std::chrono::minutes(5)) const;

  // GET /debug/state (the Broker must run with WASIMOFF_DEBUG=true).
  boost::json::object debug_state() const;
  // The registered provider named `name` from /debug/state, if any.
  std::optional<boost::json::object> provider_state(const std::string& name) const;
  // Polls until `name` is registered with a capacity > 0 (true) or `timeout` passes (false).
  bool wait_registered(const std::string& name, std::chrono::milliseconds timeout) const;
  // Polls until `name` is no longer registered.
  bool wait_unregistered(const std::string& name, std::chrono::milliseconds timeout) const;

  // GET /metrics, and the value of one sample line (e.g. `wasimoff_connected_providers`), summed
  // over all label sets when `name` is a metric with labels (prefix match up to '{' or ' ').
  std::string metrics() const;
  double metric_sum(const std::string& name) const;

  const std::string& base() const { return base_; }

 private:
  std::string base_;
};

// Output of examples/tsp-native for `tsp rand <n> <seed>` (the reference result; cached).
std::string native_tsp(int cities, int seed);

// The bytes of a built example (build/<dir>/examples/<name>).
std::string example_bytes(const std::string& name);

// "provider -> count" of the tasks of a job response, for assertion messages and checks.
std::map<std::string, int> tasks_per_provider(const v1::Task::Wasip1::JobResponse& job);

}  // namespace wasimoff::testing
