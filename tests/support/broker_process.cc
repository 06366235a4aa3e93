#include "broker_process.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "sync_http.h"

namespace wasimoff::testing {

std::string broker_binary() {
  // WASIMOFF_TEST_BROKER_BIN runs the tests against another build (e.g. one without a fix).
  if (const char* other = std::getenv("WASIMOFF_TEST_BROKER_BIN"); other && *other) return other;
  return WASIMOFF_TEST_BROKER_BIN;
}
std::string fleet_binary() {
  return WASIMOFF_TEST_FLEET_BIN;
}
std::string provider_binary() {
  return WASIMOFF_TEST_PROVIDER_BIN;
}
std::string client_binary() {
  return WASIMOFF_TEST_CLIENT_BIN;
}
std::string examples_dir() {
  return WASIMOFF_TEST_EXAMPLES_DIR;
}
std::string source_dir() {
  return WASIMOFF_TEST_SOURCE_DIR;
}

BrokerProcess::BrokerProcess(std::map<std::string, std::string> env, bool wait_ready) {
  port_ = free_tcp_port();
  quic_port_ = free_udp_port();
  std::map<std::string, std::string> full = {
      {"WASIMOFF_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port_)},
      {"WASIMOFF_QUIC_LISTEN", "127.0.0.1:" + std::to_string(quic_port_)},
      {"WASIMOFF_TRANSPORT_URL", "https://127.0.0.1:" + std::to_string(quic_port_) + "/transport"},
      {"WASIMOFF_FILESTORAGE", ":memory:"},
  };
  for (auto& [k, v] : env) full[k] = v;
  // find(), not operator[]: inserting an empty WASIMOFF_HTTPS would be a configuration error.
  auto https = full.find("WASIMOFF_HTTPS");
  if (full.count("WASIMOFF_HTTP_CERT") || (https != full.end() && https->second == "true"))
    scheme_ = "https";
  process_ =
      std::make_unique<ChildProcess>(ChildProcess::Options{{broker_binary()}, full, true, "", ""});
  if (!wait_ready) return;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < end) {
    if (!process_->running())
      throw std::runtime_error("broker exited during startup:\n" + process_->stderr_text());
    try {
      if (http_get(url("/healthz")).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("broker did not become ready:\n" + process_->stderr_text());
}

BrokerProcess::~BrokerProcess() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

std::string BrokerProcess::url(const std::string& path) const {
  return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
}

int BrokerProcess::stop() {
  return process_->stop(std::chrono::seconds(10));
}

}  // namespace wasimoff::testing
