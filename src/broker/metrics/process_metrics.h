// Standard Prometheus process metrics of the running process, read from /proc/self at scrape
// time (Linux only): process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds.
#pragma once

#include <optional>

#include "broker/metrics/registry.h"

namespace wasimoff::metrics {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system CPU time
  double resident_bytes = 0;      // RSS
  double virtual_bytes = 0;       // VSZ
  double open_fds = 0;            // entries of /proc/self/fd
  double max_fds = 0;             // soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // Unix time the process started
};

// Reads /proc/self/stat, /proc/stat (boot time) and /proc/self/fd. nullopt when /proc is not
// mounted or unparsable. Blocking but cheap (a few small procfs reads).
std::optional<ProcessStats> read_process_stats();

// Registers the six series as callback metrics on `registry`. Each scrape reads /proc; when
// that fails the series are left out of that scrape.
void register_process_metrics(Registry& registry);

}  // namespace wasimoff::metrics
