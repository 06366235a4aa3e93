#include "bench_cluster.h"

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "sync_http.h"

namespace wasimoff::bench {

BenchProvider::BenchProvider(const std::string& broker_url, ProviderConfig config)
    : config_(std::move(config)) {
  if (config_.storage.empty()) {
    own_storage_ = std::make_unique<testing::TempDir>();
    config_.storage = own_storage_->path();
  }
  process_ = std::make_unique<testing::ChildProcess>(testing::ChildProcess::Options{
      {testing::provider_binary(), "--broker", broker_url, "--transport", config_.transport,
       "--name", config_.name, "--workers", std::to_string(config_.workers), "--storage",
       config_.storage},
      {},
      true,
      "",
      ""});
}

BenchProvider::~BenchProvider() {
  if (process_) process_->stop(std::chrono::seconds(40));
}

std::string BenchProvider::transport_in_use() const {
  // "connected to <broker> via <kind> as <name>" (provider/link/broker_link.cc)
  auto log = process_->stderr_text();
  auto at = log.rfind(" via ");
  if (at == std::string::npos) return "";
  auto end = log.find(' ', at + 5);
  return log.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
}

void wait_for_providers(const std::string& broker_url, int count, std::chrono::milliseconds timeout,
                        const std::vector<BenchProvider*>& providers) {
  const std::string needle = "\nwasimoff_connected_providers " + std::to_string(count) + "\n";
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    for (auto* p : providers)
      if (!p->running()) throw std::runtime_error(p->config().name + " exited:\n" + p->log());
    try {
      if (testing::http_get(broker_url + "/metrics").body.find(needle) != std::string::npos) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string logs;
  for (auto* p : providers) logs += "--- " + p->config().name + "\n" + p->log();
  throw std::runtime_error("the broker did not report " + std::to_string(count) +
                           " connected provider(s)\n" + logs);
}

std::string upload(const std::string& broker_url, const std::string& bytes,
                   const std::string& alias) {
  auto res =
      testing::http_request("POST", broker_url + "/api/storage/upload?name=" + alias, {}, bytes);
  if (res.status != 200)
    throw std::runtime_error("upload of " + alias + ": HTTP " + std::to_string(res.status) + " " +
                             res.body);
  auto ref = res.body;
  while (!ref.empty() && (ref.back() == '\n' || ref.back() == '\r')) ref.pop_back();
  return ref;
}

std::string read_build_file(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path + " is missing; build it first (cmake --build --preset release)");
  return testing::read_file(path);
}

}  // namespace wasimoff::bench
