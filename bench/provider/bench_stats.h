// Figures of a benchmark run: latency percentiles and the machine facts every result is printed
// with (a figure from a loaded 2-core machine means little without its load average).
#pragma once

#include <string>
#include <vector>

namespace wasimoff::bench {

struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, max = 0;
  std::size_t count = 0;
};

// Nearest-rank percentiles over `samples` (any order; empty → all zero).
LatencySummary summarize(std::vector<double> samples);

// "p50 1.23 ms, p90 …, p99 …, mean …" (values in milliseconds).
std::string format_latency(const LatencySummary& s);

// One line: date (UTC), `nproc`, load average, CPU model, kernel.
std::string machine_facts();

}  // namespace wasimoff::bench
