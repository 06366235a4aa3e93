#include "bench_stats.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <numeric>

namespace wasimoff::bench {

LatencySummary summarize(std::vector<double> samples) {
  LatencySummary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double p) {
    auto idx = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(idx, 1, samples.size()) - 1];
  };
  s.count = samples.size();
  s.p50 = rank(50);
  s.p90 = rank(90);
  s.p99 = rank(99);
  s.max = samples.back();
  s.mean =
      std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  return s;
}

std::string format_latency(const LatencySummary& s) {
  return fmt::format("p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, mean {:.2f} ms (n={})", s.p50,
                     s.p90, s.p99, s.mean, s.count);
}

std::string machine_facts() {
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string load = "?";
  if (std::ifstream in("/proc/loadavg"); in) {
    std::string a, b, c;
    in >> a >> b >> c;
    load = a + " " + b + " " + c;
  }
  std::string cpu = "?";
  if (std::ifstream in("/proc/cpuinfo"); in) {
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        cpu = line.substr(line.find(':') + 2);
        break;
      }
  }
  utsname u{};
  uname(&u);
  return fmt::format("{}; nproc {}; load average {}; {}; Linux {}", date,
                     sysconf(_SC_NPROCESSORS_ONLN), load, cpu, u.release);
}

}  // namespace wasimoff::bench
