#include "cli_harness.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "sync_http.h"

namespace wasimoff::testing {

Cluster::Cluster(std::map<std::string, std::string> broker_env, int workers) {
  broker_ = std::make_unique<BrokerProcess>(std::move(broker_env));
  provider_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      {provider_binary(), "--broker", broker_->url(), "--transport", "websocket", "--name",
       "test-provider", "--workers", std::to_string(workers), "--storage", storage_.path()},
      {},
      true,
      "",
      ""});
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < end) {
    if (!provider_->running())
      throw std::runtime_error("provider exited during startup:\n" + provider_->stderr_text());
    try {
      auto metrics = http_get(broker_->url("/metrics"));
      if (metrics.body.find("\nwasimoff_connected_providers 1") != std::string::npos) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("provider did not register:\n" + provider_->stderr_text());
}

Cluster::~Cluster() {
  if (provider_) provider_->stop(std::chrono::seconds(10));
  broker_.reset();
}

CliResult run_cli(const std::vector<std::string>& args, const CliCall& call) {
  ChildProcess::Options o;
  o.argv.push_back(client_binary());
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = call.env;
  if (!call.broker.empty()) o.env["WASIMOFF_BROKER"] = call.broker;
  o.cwd = call.cwd;
  o.stdin_data = call.stdin_data;
  ChildProcess child(o);
  CliResult r;
  auto status = child.wait(call.timeout);
  if (!status) {
    child.stop(std::chrono::seconds(2));
    ADD_FAILURE() << "wasimoff did not finish in time: " << child.stderr_text();
    return r;
  }
  r.status = *status;
  r.out = child.stdout_text();
  r.err = child.stderr_text();
  return r;
}

std::string fixture(const std::string& name) {
  return std::string(WASIMOFF_CLI_FIXTURE_DIR) + "/" + name;
}

std::string describe(const CliResult& r) {
  return "status=" + std::to_string(r.status) + "\n--- stdout ---\n" + r.out +
         "\n--- stderr ---\n" + r.err;
}

}  // namespace wasimoff::testing
