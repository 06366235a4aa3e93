// CPU time accounting for benchmarks on a shared machine. Wall-clock throughput depends on what
// else runs; CPU seconds per task do much less, so the benchmarks print both.
#pragma once

#include <sys/types.h>

namespace wasimoff::bench {

// User + system CPU seconds of process `pid` and all its live descendants, including what
// they consumed through children they already reaped (cutime/cstime in /proc/<pid>/stat).
// Processes that exited and were reaped by a process outside the tree are not counted.
double process_tree_cpu_seconds(pid_t pid);

// User + system CPU seconds of this process's reaped children (getrusage RUSAGE_CHILDREN).
double reaped_children_cpu_seconds();

// User + system CPU seconds of this process (all threads).
double self_cpu_seconds();

}  // namespace wasimoff::bench
