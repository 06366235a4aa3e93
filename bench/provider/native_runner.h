// Runs a native program many times with a fixed number of processes in parallel and captures
// each run's standard output: the "same program, natively, on the same number of cores" side
// of the wasm-vs-native benchmark.
#pragma once

#include <string>
#include <vector>

namespace wasimoff::bench {

struct NativeRunResult {
  double seconds = 0;                // first start to last exit
  std::vector<std::string> outputs;  // stdout per run (index = run)
  std::vector<double> latency_ms;    // per run, start to exit
  std::size_t failures = 0;          // spawn failures, non-zero exit statuses
  std::string first_failure;
};

// Executes argvs[i] (argv[0] = executable path, no shell) for every i, at most `parallel` at a
// time. Standard input is /dev/null, standard error is inherited. Each run's output is bounded
// to 16 MiB.
NativeRunResult run_native(const std::vector<std::vector<std::string>>& argvs, int parallel);

}  // namespace wasimoff::bench
