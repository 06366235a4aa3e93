// wasimoff-test-fleet: a fleet of light provider peers (fleet_peers.h) in one process.
//
//   wasimoff-test-fleet --ws ws://127.0.0.1:4080/api/provider/ws [--count N] [--name P]
//   wasimoff-test-fleet --wt https://127.0.0.1:4443/transport --certhash HEX [...]
//   options: --hold (never answer tasks), --seconds S (run time, default 600), --ramp N
//            (start N peers every 10 ms instead of all at once)
//
// Prints one status line per second on stdout: `t=<s> connected=<n> registered=<n> closed=<n>
// cluster_infos=<total> tasks=<n>`, the first task as `task <peer>`, and a summary with
// connect/registration times at the end (SIGTERM/SIGINT end the run early).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "fleet_peers.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace wasimoff::testing;
  FleetOptions o;
  std::size_t count = 1, ramp = 0;
  int seconds = 600;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--ws")
      o.ws_url = next();
    else if (a == "--wt")
      o.wt_url = next();
    else if (a == "--certhash")
      o.certhash = next();
    else if (a == "--count")
      count = std::stoul(next());
    else if (a == "--name")
      o.name_prefix = next();
    else if (a == "--hold")
      o.hold_tasks = true;
    else if (a == "--seconds")
      seconds = std::stoi(next());
    else if (a == "--ramp")
      ramp = std::stoul(next());
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto t0 = std::chrono::steady_clock::now();
  Fleet fleet(o);
  if (ramp == 0) fleet.add(count);
  bool task_reported = false;
  std::size_t started = ramp == 0 ? count : 0;
  auto next_status = t0;
  while (!g_stop && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(seconds)) {
    if (started < count) {
      std::size_t n = std::min(ramp, count - started);
      fleet.add(n);
      started += n;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!task_reported) {
      for (std::size_t i = 0; i < fleet.size(); ++i)
        if (fleet.stats(i).tasks > 0) {
          std::printf("task %s-%zu\n", o.name_prefix.c_str(), i);
          task_reported = true;
          break;
        }
    }
    auto now = std::chrono::steady_clock::now();
    if (now < next_status) continue;
    next_status = now + std::chrono::seconds(1);
    std::size_t connected = 0, registered = 0, closed = 0, tasks = 0;
    long infos = 0;
    for (std::size_t i = 0; i < fleet.size(); ++i) {
      const auto& s = fleet.stats(i);
      connected += s.connected;
      registered += s.registered;
      closed += s.closed;
      tasks += static_cast<std::size_t>(s.tasks.load());
      infos += s.cluster_infos;
    }
    std::printf("t=%.1f connected=%zu registered=%zu closed=%zu cluster_infos=%ld tasks=%zu\n",
                std::chrono::duration<double>(now - t0).count(), connected, registered, closed,
                infos, tasks);
  }
  // Summary: registration times and close reasons.
  std::vector<std::int64_t> reg;
  std::size_t failed = 0;
  std::string a_reason;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    const auto& s = fleet.stats(i);
    if (s.registered)
      reg.push_back(s.registered_ms);
    else if (s.closed) {
      ++failed;
      if (a_reason.empty()) a_reason = s.reason();
    }
  }
  std::sort(reg.begin(), reg.end());
  auto pct = [&](double p) -> long long {
    return reg.empty() ? -1
                       : reg[std::min(reg.size() - 1, static_cast<std::size_t>(p * reg.size()))];
  };
  std::printf(
      "summary peers=%zu registered=%zu not_admitted=%zu reg_ms_p50=%lld p99=%lld max=%lld%s%s\n",
      fleet.size(), reg.size(), failed, pct(0.5), pct(0.99),
      reg.empty() ? -1LL : (long long)reg.back(),
      a_reason.empty() ? "" : " first_failure=", a_reason.c_str());
  return 0;
}
