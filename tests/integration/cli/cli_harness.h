// Harness for tests that drive the `wasimoff` CLI against real processes on 127.0.0.1: a Broker
// with a native provider, and a runner for CLI invocations with captured output.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker_process.h"
#include "process.h"

namespace wasimoff::testing {

// A Broker plus one native provider (WebSocket, its own cache directory), ready for tasks.
class Cluster {
 public:
  explicit Cluster(std::map<std::string, std::string> broker_env = {}, int workers = 2);
  ~Cluster();

  BrokerProcess& broker() { return *broker_; }
  std::string url(const std::string& path = "") const { return broker_->url(path); }
  ChildProcess& provider() { return *provider_; }

 private:
  TempDir storage_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<ChildProcess> provider_;
};

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

struct CliCall {
  std::string broker;  // WASIMOFF_BROKER; empty = unset
  std::string cwd;     // working directory; empty = the test's
  std::string stdin_data;
  std::map<std::string, std::string> env;
  std::chrono::milliseconds timeout = std::chrono::seconds(180);
};

// Runs `wasimoff <args…>` and waits for it (a timeout fails the test and kills the CLI).
CliResult run_cli(const std::vector<std::string>& args, const CliCall& call);

// The .wasm fixtures of tests/integration/cli/fixtures, assembled at build time.
std::string fixture(const std::string& name);

// "status=3 out=… err=…" for assertion messages.
std::string describe(const CliResult& r);

}  // namespace wasimoff::testing
