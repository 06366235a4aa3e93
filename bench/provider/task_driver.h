// TaskDriver: submits a fixed list of tasks to a Broker through the Connect API (RunWasip1,
// binary codec) with at most `inflight` calls outstanding, one keep-alive HTTP connection per
// slot, and measures each call. Bounded: N tasks, C in flight, every call with a timeout.
//
// Used by the benchmarks in bench/provider and bench/transport. Blocking: drive() runs its own
// io_context on the calling thread and returns when every task has an outcome.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::bench {

struct DriveOptions {
  std::string broker;  // http://127.0.0.1:<port>
  int inflight = 4;
  std::chrono::milliseconds call_timeout = std::chrono::minutes(5);
  // Checks one answer; returns "" when it is right, otherwise what is wrong. Called on the
  // driver's thread. Empty = accept every answer that decodes.
  std::function<std::string(std::size_t index, const v1::Task::Wasip1::Response&)> check;
};

struct DriveResult {
  double seconds = 0;              // first submission to last answer
  std::vector<double> latency_ms;  // per task (index = task), client-observed round trip
  std::size_t failures = 0;        // transport errors, non-200 answers, failed checks
  std::string first_failure;
  bool ok() const { return failures == 0; }
};

DriveResult drive(const std::vector<v1::Task::Wasip1::Request>& tasks, const DriveOptions& options);

}  // namespace wasimoff::bench
