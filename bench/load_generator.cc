// wasimoff-bench-load: a bounded load generator for the Broker's task path.
//
// Starts a wasimoff-broker on 127.0.0.1 (or uses one given with --broker, loopback only),
// connects scripted test providers (echo tasks, optional simulated work), then submits N tasks
// with at most C in flight through the Connect API (HTTP/1.1 keep-alive connections) or the
// client WebSocket, and prints throughput and latency percentiles. Every task's output is
// checked, so a wrong or lost result fails the run (exit status 1).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "broker_process.h"
#include "common/async.h"
#include "net/http/client.h"
#include "net/websocket/websocket_transport.h"
#include "protocol/codec.h"
#include "protocol/messenger.h"
#include "sync_http.h"
#include "test_provider.h"

namespace {

using namespace wasimoff;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  int tasks = 5000;
  int inflight = 32;
  int providers = 2;
  int capacity = 8;
  int work_ms = 0;
  std::string api = "connect";  // connect | ws
  std::string broker;           // base URL of a running broker; empty = start one
};

struct Run {
  std::vector<double> latency_ms;  // per task, index = task number
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::string first_failure;
};

v1::Task::Wasip1::Request make_task(int i) {
  v1::Task::Wasip1::Request r;
  r.mutable_params()->mutable_binary()->set_ref("bench.wasm");
  r.mutable_params()->add_args("bench.wasm");
  r.mutable_params()->add_args(std::to_string(i));
  return r;
}

void fail(Run& run, std::string why) {
  if (run.failures++ == 0) run.first_failure = std::move(why);
}

void check_output(Run& run, int i, const v1::Task::Wasip1::Response& r) {
  if (r.ok().stdout() != std::to_string(i) + "\n")
    fail(run, fmt::format("task {}: unexpected result {}", i, r.ShortDebugString()));
}

awaitable<void> connect_worker(Run& run, std::string base, int total) {
  auto ex = co_await asio::this_coro::executor;
  http::ClientOptions co;
  co.io_timeout = std::chrono::seconds(120);
  http::HttpClient client(ex, base, co);
  http::Headers headers;
  headers.set("Content-Type", "application/proto");
  for (int i = run.next++; i < total; i = run.next++) {
    std::string body = make_task(i).SerializeAsString();
    auto t0 = SteadyClock::now();
    try {
      auto resp =
          co_await client.request("POST", "/api/client/wasimoff.v1.Tasks/RunWasip1", headers, body);
      run.latency_ms[static_cast<std::size_t>(i)] =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
      v1::Task::Wasip1::Response r;
      if (resp.status != 200 || !r.ParseFromString(resp.body)) {
        fail(run, "task " + std::to_string(i) + ": HTTP " + std::to_string(resp.status) + " " +
                      resp.body);
        continue;
      }
      check_output(run, i, r);
    } catch (const std::exception& e) {
      fail(run, "task " + std::to_string(i) + ": " + e.what());
    }
  }
}

// Counts finished workers; the last one wakes the waiter.
struct WorkerGroup {
  explicit WorkerGroup(asio::any_io_executor ex, int n) : remaining(n), all_done(std::move(ex)) {}
  int remaining;
  OneShotEvent all_done;
};

awaitable<void> socket_worker(Run& run, std::shared_ptr<protocol::Messenger> m, int total,
                              std::shared_ptr<WorkerGroup> group) {
  for (int i = run.next++; i < total; i = run.next++) {
    auto t0 = SteadyClock::now();
    auto r =
        co_await m->call_as<v1::Task::Wasip1::Response>(make_task(i), std::chrono::seconds(120));
    run.latency_ms[static_cast<std::size_t>(i)] =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
    if (!r)
      fail(run, "task " + std::to_string(i) + ": " + r.error().message());
    else
      check_output(run, i, *r);
  }
  if (--group->remaining == 0) group->all_done.set();
}

// Built outside the coroutine: GCC 12 fails on the brace-initialised default member of
// ConnectOptions when the temporary is created inside a coroutine ("array used as initializer").
websocket::ConnectOptions connect_options() {
  return {};
}

awaitable<void> socket_load(Run& run, std::string ws_url, int inflight, int total) {
  auto ex = co_await asio::this_coro::executor;
  auto transport = co_await websocket::connect(ex, ws_url, connect_options());
  protocol::Messenger::Options mo;
  mo.name = "bench client";
  auto m = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
  m->start();
  auto group = std::make_shared<WorkerGroup>(ex, inflight);
  for (int w = 0; w < inflight; ++w)
    spawn_logged(ex, socket_worker(run, m, total, group), "socket worker");
  co_await group->all_done.wait();
  m->close(protocol::CloseCode::kNormal, "bye!");
}

bool loopback(const std::string& url) {
  auto u = http::Url::parse(url);
  return u && (u->host == "127.0.0.1" || u->host == "localhost" || u->host == "::1");
}

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Load generator for the wasimoff Broker (loopback only)."};
  app.add_option("-n,--tasks", o.tasks, "tasks to submit")->check(CLI::Range(1, 10'000'000));
  app.add_option("-c,--inflight", o.inflight, "tasks in flight at most")
      ->check(CLI::Range(1, 4096));
  app.add_option("-p,--providers", o.providers, "scripted test providers")
      ->check(CLI::Range(1, 64));
  app.add_option("-k,--capacity", o.capacity, "workers announced per provider")
      ->check(CLI::Range(1, 1024));
  app.add_option("-w,--work-ms", o.work_ms, "simulated work per task (ms)")
      ->check(CLI::Range(0, 60'000));
  app.add_option("-a,--api", o.api, "submission path: connect or ws")
      ->check(CLI::IsMember({"connect", "ws"}));
  app.add_option("-b,--broker", o.broker, "base URL of a running broker (default: start one)");
  CLI11_PARSE(app, argc, argv);

  if (!o.broker.empty() && !loopback(o.broker)) {
    std::cerr
        << "wasimoff-bench-load: only loopback brokers are allowed (127.0.0.1, localhost, ::1)\n";
    return 2;
  }
  try {
    std::unique_ptr<testing::BrokerProcess> broker;
    if (o.broker.empty()) {
      broker = std::make_unique<testing::BrokerProcess>(std::map<std::string, std::string>{
          {"WASIMOFF_QUEUE_SIZE", std::to_string(std::max(o.inflight * 2, 2048))}});
      o.broker = broker->url();
    }
    auto up = testing::http_request("POST", o.broker + "/api/storage/upload?name=bench.wasm", {},
                                    testing::tiny_wasm("bench"));
    if (up.status != 200)
      throw std::runtime_error("upload failed: HTTP " + std::to_string(up.status));

    auto url = *http::Url::parse(o.broker);
    std::string ws_base = "ws://" + url.authority();
    std::vector<std::unique_ptr<testing::TestProvider>> providers;
    for (int i = 0; i < o.providers; ++i) {
      testing::TestProviderOptions po;
      po.url = ws_base + "/api/provider/ws";
      po.name = "bench-" + std::to_string(i);
      po.concurrency = static_cast<std::uint32_t>(o.capacity);
      po.announce_busy = false;
      int work = o.work_ms;
      po.script = [work](const v1::Task::Wasip1::Request& r) {
        return testing::TaskAction::echo(r).after(std::chrono::milliseconds(work));
      };
      providers.push_back(std::make_unique<testing::TestProvider>(po));
      if (!providers.back()->wait_registered()) throw std::runtime_error("provider not registered");
    }

    Run run;
    run.latency_ms.assign(static_cast<std::size_t>(o.tasks), 0.0);
    asio::io_context io(1);
    auto t0 = SteadyClock::now();
    if (o.api == "connect") {
      for (int w = 0; w < o.inflight; ++w)
        asio::co_spawn(io, connect_worker(run, o.broker, o.tasks), [&](std::exception_ptr e) {
          if (e) fail(run, "connect worker crashed");
        });
    } else {
      asio::co_spawn(io, socket_load(run, ws_base + "/api/client/ws", o.inflight, o.tasks),
                     [&](std::exception_ptr e) {
                       if (e) fail(run, "client socket failed");
                     });
    }
    io.run();
    double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();

    std::vector<double> sorted = run.latency_ms;
    std::sort(sorted.begin(), sorted.end());
    double mean =
        std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(sorted.size());
    std::size_t max_running = 0;
    for (auto& p : providers) max_running = std::max(max_running, p->max_running());
    std::cout << fmt::format(
        "api={} tasks={} inflight={} providers={}x{} work={}ms\n"
        "elapsed {:.2f} s, {:.0f} tasks/s, failures {}\n"
        "latency ms: mean {:.2f}  p50 {:.2f}  p90 {:.2f}  p99 {:.2f}  max {:.2f}\n"
        "max tasks running on one provider: {}\n",
        o.api, o.tasks, o.inflight, o.providers, o.capacity, o.work_ms, seconds,
        static_cast<double>(o.tasks) / seconds, run.failures.load(), mean, percentile(sorted, 50),
        percentile(sorted, 90), percentile(sorted, 99), sorted.back(), max_running);
    if (run.failures > 0) {
      std::cerr << "first failure: " << run.first_failure << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "wasimoff-bench-load: " << e.what() << "\n";
    return 1;
  }
}
