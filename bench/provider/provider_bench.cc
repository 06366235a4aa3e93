// wasimoff-bench-provider: what the native provider delivers through the real Broker.
//
//  1. tsp n=10 throughput: N tasks `tsp.wasm rand 10 <seed>` through Broker + one native provider
//     with W workers (C calls in flight), against the same program compiled natively
//     (examples/tsp-native) run N times with W processes in parallel. Both sides run on the same
//     machine in the same run, in alternating rounds; every wasm result is compared with the
//     native one. The figure is the ratio wasimoff tasks/s ÷ native tasks/s (≤ 1; the rest is
//     wasm2c code quality, the instance set-up, and the Broker/provider/client on the same cores).
//  2. no-op throughput: N tasks of a module whose _start returns at once, C in flight: the fixed
//     cost of a task (scheduling, transport, a fresh instance in a worker, the answer).
//
// Everything is started here on 127.0.0.1 (free ports, a fresh provider cache); the module is
// compiled during a warm-up that is not measured. Exit status 1 when any result is wrong.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "bench_cluster.h"
#include "bench_stats.h"
#include "native_runner.h"
#include "process_cpu.h"
#include "task_driver.h"

namespace {

using namespace wasimoff;
using namespace std::chrono_literals;

struct Options {
  int workers = 2;
  int tsp_tasks = 40;
  int rounds = 3;
  int cities = 10;
  int tsp_inflight = 0;  // 0 = 2 × workers (keeps every worker fed while answers travel)
  int noop_tasks = 2000;
  int noop_inflight = 16;
  std::string transport = "auto";
};

v1::Task::Wasip1::Request task(const std::string& module, std::vector<std::string> args) {
  v1::Task::Wasip1::Request r;
  r.mutable_params()->mutable_binary()->set_ref(module);
  r.mutable_params()->add_args(module);
  for (auto& a : args) r.mutable_params()->add_args(std::move(a));
  return r;
}

std::string status_ok(const v1::Task::Wasip1::Response& r) {
  if (!r.has_ok()) return "error: " + r.error();
  if (r.ok().status() != 0)
    return fmt::format("exit status {}: {}", r.ok().status(), r.ok().stderr());
  return "";
}

void require(const bench::DriveResult& r, const std::string& what) {
  if (!r.ok())
    throw std::runtime_error(
        fmt::format("{}: {} failure(s), first: {}", what, r.failures, r.first_failure));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "wasimoff-bench-provider: tsp (wasm via Broker + native provider vs native) and no-op task "
      "throughput, loopback only"};
  app.add_option("-w,--workers", o.workers, "provider workers = native parallel processes")
      ->check(CLI::Range(1, 64));
  app.add_option("--tsp-tasks", o.tsp_tasks, "tsp tasks per round and side")
      ->check(CLI::Range(1, 100000));
  app.add_option("--rounds", o.rounds, "alternating wasimoff/native rounds of the tsp comparison")
      ->check(CLI::Range(1, 100));
  app.add_option("--cities", o.cities, "tsp problem size n")->check(CLI::Range(2, 12));
  app.add_option("--tsp-inflight", o.tsp_inflight, "tsp calls in flight (default 2 x workers)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--noop-tasks", o.noop_tasks, "no-op tasks")->check(CLI::Range(1, 1000000));
  app.add_option("--noop-inflight", o.noop_inflight, "no-op calls in flight")
      ->check(CLI::Range(1, 1024));
  app.add_option("--transport", o.transport, "provider transport: auto | websocket | webtransport")
      ->check(CLI::IsMember({"auto", "websocket", "webtransport"}));
  CLI11_PARSE(app, argc, argv);
  if (o.tsp_inflight == 0) o.tsp_inflight = 2 * o.workers;

  try {
    std::cout << "== wasimoff-bench-provider\nmachine: " << bench::machine_facts() << std::endl;
    testing::BrokerProcess broker;
    bench::BenchProvider provider(
        broker.url(), bench::ProviderConfig{"bench-provider", o.transport, o.workers, ""});
    bench::wait_for_providers(broker.url(), 1, 60s, {&provider});
    const std::string examples = testing::examples_dir();
    bench::upload(broker.url(), bench::read_build_file(examples + "/tsp.wasm"), "tsp.wasm");
    bench::upload(broker.url(), bench::read_build_file(WASIMOFF_BENCH_NOOP_WASM), "noop.wasm");
    std::cout << fmt::format("setup: broker + 1 native provider ({} workers, {}), loopback",
                             o.workers, provider.transport_in_use())
              << std::endl;

    // Warm-up (not measured): compiles both modules and starts every worker.
    bench::DriveOptions warm{broker.url(), o.workers, 10min,
                             [](std::size_t, const auto& r) { return status_ok(r); }};
    std::vector<v1::Task::Wasip1::Request> warm_tasks;
    for (int i = 0; i < 2 * o.workers; ++i) {
      warm_tasks.push_back(task("tsp.wasm", {"rand", "6", std::to_string(i + 1)}));
      warm_tasks.push_back(task("noop.wasm", {}));
    }
    require(bench::drive(warm_tasks, warm), "warm-up");

    // 1. tsp: the same N seeds through wasimoff and natively, in alternating rounds (which side
    //    goes first alternates too) so that both see the same drift in machine load.
    std::vector<v1::Task::Wasip1::Request> tsp_tasks;
    std::vector<std::vector<std::string>> native_argvs;
    for (int i = 0; i < o.tsp_tasks; ++i) {
      auto seed = std::to_string(i + 1);
      tsp_tasks.push_back(task("tsp.wasm", {"rand", std::to_string(o.cities), seed}));
      native_argvs.push_back({examples + "/tsp-native", "rand", std::to_string(o.cities), seed});
    }
    std::vector<std::string> wasm_out(tsp_tasks.size());
    bench::DriveOptions tsp_opts{broker.url(), o.tsp_inflight, 10min,
                                 [&wasm_out](std::size_t i, const v1::Task::Wasip1::Response& r) {
                                   auto why = status_ok(r);
                                   if (why.empty()) wasm_out[i] = r.ok().stdout();
                                   return why;
                                 }};
    // CPU seconds: the Broker's and the provider's process trees (supervisor, workers) for
    // wasimoff, this process (the submitting client) separately, the reaped tsp-native runs.
    auto system_cpu = [&] {
      return bench::process_tree_cpu_seconds(broker.process().pid()) +
             bench::process_tree_cpu_seconds(provider.pid());
    };
    double wasm_seconds = 0, native_seconds = 0, wasm_cpu = 0, client_cpu = 0, native_cpu = 0;
    std::vector<double> wasm_latency, native_latency;
    for (int round = 0; round < o.rounds; ++round) {
      for (int side = 0; side < 2; ++side) {
        if ((side + round) % 2 == 0) {
          const double cpu0 = system_cpu(), self0 = bench::self_cpu_seconds();
          auto wasm = bench::drive(tsp_tasks, tsp_opts);
          require(wasm, "tsp via wasimoff");
          wasm_cpu += system_cpu() - cpu0;
          client_cpu += bench::self_cpu_seconds() - self0;
          wasm_seconds += wasm.seconds;
          wasm_latency.insert(wasm_latency.end(), wasm.latency_ms.begin(), wasm.latency_ms.end());
        } else {
          const double cpu0 = bench::reaped_children_cpu_seconds();
          auto native = bench::run_native(native_argvs, o.workers);
          if (native.failures) throw std::runtime_error("tsp-native: " + native.first_failure);
          native_cpu += bench::reaped_children_cpu_seconds() - cpu0;
          native_seconds += native.seconds;
          native_latency.insert(native_latency.end(), native.latency_ms.begin(),
                                native.latency_ms.end());
          if (round == 0) {
            for (std::size_t i = 0; i < wasm_out.size(); ++i)
              if (wasm_out[i] != native.outputs[i])
                throw std::runtime_error(fmt::format("tsp seed {}: wasm printed {:?}, native {:?}",
                                                     i + 1, wasm_out[i], native.outputs[i]));
          }
        }
      }
    }
    const double total = static_cast<double>(o.tsp_tasks) * o.rounds;
    const double wasm_rate = total / wasm_seconds, native_rate = total / native_seconds;
    const auto per_task = [total](double cpu_seconds) { return 1000 * cpu_seconds / total; };
    fmt::print(
        "tsp n={} via wasimoff: {} tasks ({} rounds), {} in flight, {:.2f} s -> {:.2f} tasks/s\n",
        o.cities, total, o.rounds, o.tsp_inflight, wasm_seconds, wasm_rate);
    fmt::print("  latency {}\n", bench::format_latency(bench::summarize(wasm_latency)));
    fmt::print("tsp n={} native: {} runs ({} rounds), {} in parallel, {:.2f} s -> {:.2f} tasks/s\n",
               o.cities, total, o.rounds, o.workers, native_seconds, native_rate);
    fmt::print("  per run {}\n", bench::format_latency(bench::summarize(native_latency)));
    fmt::print(
        "tsp n={} CPU per task: wasimoff {:.1f} ms (broker + provider + workers; the client "
        "{:.1f} ms more), native {:.1f} ms\n",
        o.cities, per_task(wasm_cpu), per_task(client_cpu), per_task(native_cpu));
    fmt::print("RESULT tsp{}_wasimoff_vs_native_ratio {:.3f}  (throughput; results identical)\n",
               o.cities, wasm_rate / native_rate);
    fmt::print(
        "RESULT tsp{}_native_vs_wasimoff_cpu_ratio {:.3f}  (CPU per task, native / wasimoff)\n",
        o.cities, native_cpu / wasm_cpu);
    std::fflush(stdout);

    // 2. no-op throughput.
    std::vector<v1::Task::Wasip1::Request> noop_tasks(static_cast<std::size_t>(o.noop_tasks),
                                                      task("noop.wasm", {}));
    bench::DriveOptions noop_opts{broker.url(), o.noop_inflight, 10min,
                                  [](std::size_t, const auto& r) {
                                    auto why = status_ok(r);
                                    if (why.empty() && !r.ok().stdout().empty())
                                      why = "unexpected output";
                                    return why;
                                  }};
    const double noop_cpu0 = system_cpu(), noop_self0 = bench::self_cpu_seconds();
    auto noop = bench::drive(noop_tasks, noop_opts);
    require(noop, "no-op tasks");
    const double noop_cpu = system_cpu() - noop_cpu0,
                 noop_client = bench::self_cpu_seconds() - noop_self0;
    fmt::print("no-op via wasimoff: {} tasks, {} in flight, {:.2f} s\n", o.noop_tasks,
               o.noop_inflight, noop.seconds);
    fmt::print("  latency {}\n", bench::format_latency(bench::summarize(noop.latency_ms)));
    fmt::print("  CPU per task: {:.2f} ms (broker + provider + workers), client {:.2f} ms\n",
               1000 * noop_cpu / o.noop_tasks, 1000 * noop_client / o.noop_tasks);
    fmt::print("RESULT noop_tasks_per_second {:.0f}\n",
               static_cast<double>(o.noop_tasks) / noop.seconds);
    std::fflush(stdout);
    std::cout << "machine after: " << bench::machine_facts() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "wasimoff-bench-provider: " << e.what() << "\n";
    return 1;
  }
}
