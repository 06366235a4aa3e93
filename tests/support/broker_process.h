// Starts the real wasimoff-broker binary on 127.0.0.1 with a free port and waits until it serves.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "process.h"

namespace wasimoff::testing {

// Paths of the binaries under test (compile definitions from tests/support/CMakeLists.txt).
std::string broker_binary();
std::string provider_binary();
std::string client_binary();
std::string fleet_binary();  // wasimoff-test-fleet (fleet_main.cc)
std::string examples_dir();  // built .wasm examples
std::string source_dir();

class BrokerProcess {
 public:
  // `env` is added to a minimal test environment (WASIMOFF_HTTP_LISTEN on a free port,
  // WASIMOFF_QUIC_LISTEN on a free UDP port, in-memory storage). Waits up to 15 s for /healthz.
  explicit BrokerProcess(std::map<std::string, std::string> env = {}, bool wait_ready = true);
  ~BrokerProcess();

  std::uint16_t port() const { return port_; }
  std::uint16_t quic_port() const { return quic_port_; }
  std::string url(const std::string& path = "") const;  // "http://127.0.0.1:<port><path>"
  ChildProcess& process() { return *process_; }
  // SIGTERM and wait; returns the exit status.
  int stop();

 private:
  std::uint16_t port_ = 0;
  std::uint16_t quic_port_ = 0;
  std::string scheme_ = "http";
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace wasimoff::testing
