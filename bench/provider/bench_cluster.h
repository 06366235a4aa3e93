// The processes a benchmark measures: a real wasimoff-broker (from the test harness,
// 127.0.0.1 on free ports) and real wasimoff-provider processes, plus the few blocking HTTP
// calls needed to prepare a run (upload, wait for providers). Loopback only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker_process.h"
#include "process.h"

namespace wasimoff::bench {

struct ProviderConfig {
  std::string name = "bench-provider";
  std::string transport = "auto";  // auto | websocket | webtransport
  int workers = 2;
  std::string storage;  // cache directory; "" = a fresh temporary one
};

// One wasimoff-provider process. The destructor stops it gracefully (SIGTERM, bounded).
class BenchProvider {
 public:
  BenchProvider(const std::string& broker_url, ProviderConfig config);
  ~BenchProvider();
  BenchProvider(const BenchProvider&) = delete;
  BenchProvider& operator=(const BenchProvider&) = delete;

  const ProviderConfig& config() const { return config_; }
  // "websocket" / "webtransport" as logged by the provider once connected ("" before).
  std::string transport_in_use() const;
  std::string log() const { return process_->stderr_text(); }
  bool running() { return process_->running(); }
  pid_t pid() const { return process_->pid(); }
  int stop() { return process_->stop(std::chrono::seconds(40)); }

 private:
  ProviderConfig config_;
  std::unique_ptr<testing::TempDir> own_storage_;
  std::unique_ptr<testing::ChildProcess> process_;
};

// Polls /metrics until `wasimoff_connected_providers` equals `count`; throws after `timeout`
// with the given providers' logs.
void wait_for_providers(const std::string& broker_url, int count, std::chrono::milliseconds timeout,
                        const std::vector<BenchProvider*>& providers = {});

// POST /api/storage/upload?name=<alias>; returns the ref, throws on failure.
std::string upload(const std::string& broker_url, const std::string& bytes,
                   const std::string& alias);

// Reads a built file (examples, fixtures); throws with a hint when it is missing.
std::string read_build_file(const std::string& path);

}  // namespace wasimoff::bench
