#include "e2e_cluster.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sync_http.h"

namespace wasimoff::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

NativeProvider::NativeProvider(const std::string& broker_url, ProviderSpec spec)
    : spec_(std::move(spec)) {
  process_ = std::make_unique<ChildProcess>(ChildProcess::Options{
      {provider_binary(), "--broker", broker_url, "--transport", spec_.transport, "--name",
       spec_.name, "--workers", std::to_string(spec_.workers), "--storage", storage_.path()},
      {},
      true,
      "",
      ""});
  pid_ = process_->pid();
}

NativeProvider::~NativeProvider() {
  if (process_) process_->stop(10s);
}

int NativeProvider::kill9() {
  process_->signal(SIGKILL);
  return process_->wait(10s).value_or(-1);
}

namespace {

struct ProcStat {
  pid_t pid = 0;
  char state = 0;
  pid_t ppid = 0;
  unsigned long long start_time = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid pgrp ... starttime(22) ..."; comm may contain spaces
// and parentheses, so parsing starts after the last ')'.
std::vector<ProcStat> all_processes() {
  std::vector<ProcStat> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    ProcStat p;
    p.pid = static_cast<pid_t>(std::stol(name));
    std::string skip;
    if (!(rest >> p.state >> p.ppid)) continue;
    for (int field = 5; field < 22; ++field) rest >> skip;  // pgrp … itrealvalue
    if (!(rest >> p.start_time)) continue;
    out.push_back(p);
  }
  return out;
}

}  // namespace

std::vector<NativeProvider::ProcessId> NativeProvider::children() const {
  std::vector<ProcessId> out;
  for (const auto& p : all_processes())
    if (p.ppid == pid_ && p.state != 'Z') out.push_back({p.pid, p.start_time});
  return out;
}

std::size_t NativeProvider::still_running(const std::vector<ProcessId>& processes) {
  std::size_t n = 0;
  auto now = all_processes();
  for (const auto& want : processes)
    for (const auto& p : now)
      if (p.pid == want.pid && p.start_time == want.start_time && p.state != 'Z') ++n;
  return n;
}

namespace {

std::string call_connect(const std::string& base, const std::string& method,
                         const std::string& body, std::chrono::milliseconds timeout) {
  http::Headers headers;
  headers.set("Content-Type", "application/proto");
  auto res = http_request("POST", base + "/api/client/wasimoff.v1.Tasks/" + method, headers, body,
                          timeout);
  if (res.status != 200)
    throw std::runtime_error(method + " failed: HTTP " + std::to_string(res.status) + " " +
                             res.body);
  return res.body;
}

}  // namespace

std::string BrokerApi::upload(const std::string& bytes, const std::string& alias) const {
  auto res = http_request("POST", base_ + "/api/storage/upload?name=" + alias, {}, bytes);
  if (res.status != 200)
    throw std::runtime_error("upload of " + alias + " failed: HTTP " + std::to_string(res.status) +
                             " " + res.body);
  auto ref = res.body;
  while (!ref.empty() && (ref.back() == '\n' || ref.back() == '\r')) ref.pop_back();
  return ref;
}

v1::Task::Wasip1::Response BrokerApi::run(const v1::Task::Wasip1::Request& request,
                                          std::chrono::milliseconds timeout) const {
  v1::Task::Wasip1::Response out;
  if (!out.ParseFromString(call_connect(base_, "RunWasip1", request.SerializeAsString(), timeout)))
    throw std::runtime_error("RunWasip1: undecodable response");
  return out;
}

v1::Task::Wasip1::JobResponse BrokerApi::run_job(const v1::Task::Wasip1::JobRequest& job,
                                                 std::chrono::milliseconds timeout) const {
  v1::Task::Wasip1::JobResponse out;
  if (!out.ParseFromString(call_connect(base_, "RunWasip1Job", job.SerializeAsString(), timeout)))
    throw std::runtime_error("RunWasip1Job: undecodable response");
  return out;
}

boost::json::object BrokerApi::debug_state() const {
  auto res = http_get(base_ + "/debug/state");
  if (res.status != 200)
    throw std::runtime_error("GET /debug/state: HTTP " + std::to_string(res.status) +
                             " (the Broker needs WASIMOFF_DEBUG=true)");
  return boost::json::parse(res.body).as_object();
}

std::optional<boost::json::object> BrokerApi::provider_state(const std::string& name) const {
  auto state = debug_state();
  for (const auto& p : state.at("providers").as_array()) {
    const auto& o = p.as_object();
    if (o.at("name").as_string() == name) return o;
  }
  return std::nullopt;
}

bool BrokerApi::wait_registered(const std::string& name, std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (auto p = provider_state(name); p && p->at("capacity").to_number<std::int64_t>() > 0)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

bool BrokerApi::wait_unregistered(const std::string& name,
                                  std::chrono::milliseconds timeout) const {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (!provider_state(name)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string BrokerApi::metrics() const {
  auto res = http_get(base_ + "/metrics");
  if (res.status != 200)
    throw std::runtime_error("GET /metrics: HTTP " + std::to_string(res.status));
  return res.body;
}

double BrokerApi::metric_sum(const std::string& name) const {
  std::istringstream in(metrics());
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.compare(0, name.size(), name) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string native_tsp(int cities, int seed) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::string> cache;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(cities, seed);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  ChildProcess child(ChildProcess::Options{
      {examples_dir() + "/tsp-native", "rand", std::to_string(cities), std::to_string(seed)},
      {},
      true,
      "",
      ""});
  auto status = child.wait(60s);
  if (!status || *status != 0)
    throw std::runtime_error("tsp-native rand " + std::to_string(cities) + " " +
                             std::to_string(seed) + " failed: " + child.stderr_text());
  return cache[key] = child.stdout_text();
}

std::string example_bytes(const std::string& name) {
  auto path = examples_dir() + "/" + name;
  if (!fs::exists(path))
    throw std::runtime_error(path + " is missing; build the `examples` target");
  return read_file(path);
}

std::map<std::string, int> tasks_per_provider(const v1::Task::Wasip1::JobResponse& job) {
  std::map<std::string, int> out;
  for (const auto& t : job.tasks()) ++out[t.info().provider()];
  return out;
}

}  // namespace wasimoff::testing
