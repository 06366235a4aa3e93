// wasimoff-bench-transport: the provider link over WebTransport vs WebSocket, same run, same
// Broker, alternating rounds so both see the same machine load.
//
// Measured per transport (one provider connected at a time):
//   ping      Ping Request provider → Broker → provider, one at a time: the bare transport round
//             trip (framing, codec, the Broker's reader/writer; no scheduling)
//   task      a tiny echo task, one at a time: client → Broker (Connect, HTTP/1.1) → EchoPeer →
//             Broker → client; the transport plus the Broker's task path
//   bulk      echo tasks with a large stdin (default 1 MiB), C in flight: every task moves the
//             payload Broker → provider and back; figure = provider-link payload MiB/s
//             (2 × size × tasks ÷ time; the client's HTTP leg is the same for both transports)
//   native    a no-op wasm task, one at a time, through the real native provider (1 worker,
//             --transport forced, same compiled-module cache for both)
// The ratios printed are WebTransport ÷ WebSocket (latency: < 1 means WebTransport is faster;
// throughput: > 1 means WebTransport is faster).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <random>

#include "bench_cluster.h"
#include "bench_stats.h"
#include "echo_peer.h"
#include "task_driver.h"

namespace {

using namespace wasimoff;
using namespace std::chrono_literals;

struct Options {
  int rounds = 2;
  int pings = 1000;
  int small_tasks = 500;
  int bulk_tasks = 48;
  std::size_t bulk_size = 1u << 20;
  int bulk_inflight = 4;
  int native_tasks = 300;
};

struct Figures {
  std::vector<double> ping_ms, task_ms, native_ms;
  double bulk_bytes = 0, bulk_seconds = 0;
};

const char* const kKinds[] = {"websocket", "webtransport"};

v1::Task::Wasip1::Request echo_task(std::string stdin_bytes) {
  v1::Task::Wasip1::Request r;
  r.mutable_params()->mutable_binary()->set_ref("noop.wasm");  // resolved by the Broker, never run
  r.mutable_params()->add_args("echo");
  r.mutable_params()->set_stdin(std::move(stdin_bytes));
  return r;
}

void require(const bench::DriveResult& r, const std::string& what) {
  if (!r.ok())
    throw std::runtime_error(
        fmt::format("{}: {} failure(s), first: {}", what, r.failures, r.first_failure));
}

void measure_echo_peer(const std::string& broker, const std::string& kind, const Options& o,
                       Figures& f) {
  bench::EchoPeer peer(broker, kind, "bench-" + kind,
                       static_cast<std::uint32_t>(std::max(8, o.bulk_inflight)));
  if (peer.kind() != kind)
    throw std::runtime_error("asked for " + kind + ", connected via " + peer.kind());
  bench::wait_for_providers(broker, 1, 30s);

  auto pings = peer.ping_round_trips(o.pings);
  f.ping_ms.insert(f.ping_ms.end(), pings.begin(), pings.end());

  std::vector<v1::Task::Wasip1::Request> small(static_cast<std::size_t>(o.small_tasks),
                                               echo_task("x"));
  bench::DriveOptions one_at_a_time{
      broker, 1, 1min, [](std::size_t, const v1::Task::Wasip1::Response& r) {
        return r.has_ok() && r.ok().stdout() == "x" ? "" : "wrong echo";
      }};
  auto s = bench::drive(small, one_at_a_time);
  require(s, "small echo tasks over " + kind);
  f.task_ms.insert(f.task_ms.end(), s.latency_ms.begin(), s.latency_ms.end());

  std::vector<v1::Task::Wasip1::Request> bulk;
  std::vector<std::string> payloads;
  std::mt19937_64 rng(42);
  for (int i = 0; i < o.bulk_tasks; ++i) {
    std::string p(o.bulk_size, '\0');
    for (auto& c : p) c = static_cast<char>(rng());
    payloads.push_back(p);
    bulk.push_back(echo_task(std::move(p)));
  }
  bench::DriveOptions bulk_opts{
      broker, o.bulk_inflight, 5min,
      [&payloads](std::size_t i, const v1::Task::Wasip1::Response& r) {
        return r.has_ok() && r.ok().stdout() == payloads[i] ? "" : "payload not echoed intact";
      }};
  auto b = bench::drive(bulk, bulk_opts);
  require(b, "bulk echo tasks over " + kind);
  f.bulk_bytes += 2.0 * static_cast<double>(o.bulk_size) * o.bulk_tasks;
  f.bulk_seconds += b.seconds;
}

void measure_native_provider(const std::string& broker, const std::string& kind,
                             const std::string& storage, const Options& o, Figures& f) {
  bench::BenchProvider provider(broker,
                                bench::ProviderConfig{"bench-native-" + kind, kind, 1, storage});
  bench::wait_for_providers(broker, 1, 60s, {&provider});
  if (provider.transport_in_use() != kind)
    throw std::runtime_error("the provider connected via " + provider.transport_in_use() +
                             ", not " + kind);
  v1::Task::Wasip1::Request noop;
  noop.mutable_params()->mutable_binary()->set_ref("noop.wasm");
  noop.mutable_params()->add_args("noop.wasm");
  bench::DriveOptions one_at_a_time{
      broker, 1, 10min, [](std::size_t, const v1::Task::Wasip1::Response& r) {
        return r.has_ok() && r.ok().status() == 0 ? "" : "no-op failed: " + r.error();
      }};
  // Warm-up: the first provider compiles the module; the cache directory is shared, so the
  // other only loads it. Not measured either way.
  require(bench::drive(std::vector<v1::Task::Wasip1::Request>(3, noop), one_at_a_time), "warm-up");
  auto r = bench::drive(
      std::vector<v1::Task::Wasip1::Request>(static_cast<std::size_t>(o.native_tasks), noop),
      one_at_a_time);
  require(r, "no-op tasks via the native provider over " + kind);
  f.native_ms.insert(f.native_ms.end(), r.latency_ms.begin(), r.latency_ms.end());
  provider.stop();
  bench::wait_for_providers(broker, 0, 30s);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "wasimoff-bench-transport: WebTransport vs WebSocket provider links (round trip, bulk), "
      "loopback"};
  app.add_option("--rounds", o.rounds, "alternating rounds per transport")
      ->check(CLI::Range(1, 100));
  app.add_option("--pings", o.pings, "pings per round")->check(CLI::Range(1, 1000000));
  app.add_option("--small-tasks", o.small_tasks, "tiny echo tasks per round (one at a time)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--bulk-tasks", o.bulk_tasks, "bulk echo tasks per round")
      ->check(CLI::Range(1, 100000));
  app.add_option("--bulk-size", o.bulk_size, "bytes of stdin (and stdout) per bulk task")
      ->check(CLI::Range(std::size_t{1}, std::size_t{32} << 20));
  app.add_option("--bulk-inflight", o.bulk_inflight, "bulk tasks in flight")
      ->check(CLI::Range(1, 256));
  app.add_option("--native-tasks", o.native_tasks,
                 "no-op tasks via the native provider per round (0 = skip)")
      ->check(CLI::Range(0, 1000000));
  CLI11_PARSE(app, argc, argv);

  try {
    std::cout << "== wasimoff-bench-transport\nmachine: " << bench::machine_facts() << std::endl;
    testing::BrokerProcess broker;
    bench::upload(broker.url(), bench::read_build_file(WASIMOFF_BENCH_NOOP_WASM), "noop.wasm");
    std::map<std::string, Figures> figures;
    testing::TempDir native_cache;
    for (int round = 0; round < o.rounds; ++round) {
      for (int k = 0; k < 2; ++k) {
        std::string kind = kKinds[(k + round) % 2];  // alternate which transport goes first
        measure_echo_peer(broker.url(), kind, o, figures[kind]);
        bench::wait_for_providers(broker.url(), 0, 30s);
        if (o.native_tasks > 0)
          measure_native_provider(broker.url(), kind, native_cache.path(), o, figures[kind]);
      }
    }

    auto& ws = figures["websocket"];
    auto& wt = figures["webtransport"];
    auto line = [](const char* what, const bench::LatencySummary& w,
                   const bench::LatencySummary& t) {
      std::cout << fmt::format("{:<28} websocket    {}\n{:<28} webtransport {}\n", what,
                               bench::format_latency(w), "", bench::format_latency(t));
    };
    auto ping_ws = bench::summarize(ws.ping_ms), ping_wt = bench::summarize(wt.ping_ms);
    auto task_ws = bench::summarize(ws.task_ms), task_wt = bench::summarize(wt.task_ms);
    line("ping round trip", ping_ws, ping_wt);
    line("echo task round trip", task_ws, task_wt);
    double bulk_ws = ws.bulk_bytes / ws.bulk_seconds / (1 << 20),
           bulk_wt = wt.bulk_bytes / wt.bulk_seconds / (1 << 20);
    std::cout << fmt::format("{:<28} websocket    {:.1f} MiB/s\n{:<28} webtransport {:.1f} MiB/s\n",
                             fmt::format("bulk ({} KiB x {}, {} in flight)", o.bulk_size / 1024,
                                         o.bulk_tasks, o.bulk_inflight),
                             bulk_ws, "", bulk_wt);
    std::cout << fmt::format("RESULT ping_p50_ratio_wt_over_ws {:.3f}\n", ping_wt.p50 / ping_ws.p50)
              << fmt::format("RESULT task_p50_ratio_wt_over_ws {:.3f}\n", task_wt.p50 / task_ws.p50)
              << fmt::format("RESULT bulk_throughput_ratio_wt_over_ws {:.3f}\n", bulk_wt / bulk_ws);
    if (o.native_tasks > 0) {
      auto nat_ws = bench::summarize(ws.native_ms), nat_wt = bench::summarize(wt.native_ms);
      line("native no-op task round trip", nat_ws, nat_wt);
      std::cout << fmt::format("RESULT native_noop_p50_ratio_wt_over_ws {:.3f}\n",
                               nat_wt.p50 / nat_ws.p50);
    }
    std::cout << "machine after: " << bench::machine_facts() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "wasimoff-bench-transport: " << e.what() << "\n";
    return 1;
  }
}
