// The Broker's Prometheus series (docs/http-api.md §7, docs/scheduling.md §12), owned in one place
// so their names, types, labels and buckets cannot drift from the spec.
//
// Series (names kept exactly for dashboard compatibility, including the counter without
// `_total`):
//   wasimoff_tasks_completed{status,target}  histogram  start → completion
//   wasimoff_tasks_scheduled{target}         histogram  start → handed to a provider
//   wasimoff_tasks_execution{status,target}  histogram  last assignment → completion
//   wasimoff_task_retries_count{attempt}     counter    retry attempts ("2" … "10")
//   wasimoff_tasks_queued                    gauge      tasks waiting for a slot
//   wasimoff_tasks_dispatching               gauge      tasks in back-off or being assigned
//   wasimoff_available_workers{type}         gauge      Σ capacity of registered providers
//   wasimoff_connected_providers             gauge      registered providers
//   wasimoff_task_attempt_timeouts_total     counter    attempts ended by WASIMOFF_ATTEMPT_TIMEOUT
//   wasimoff_task_module_refusals_total      counter    tasks a provider refused (their module)
//   wasimoff_provider_timeout_closes_total   counter    providers closed after repeated timeouts
//   wasimoff_http_requests_total{method,code}         counter
//   wasimoff_http_request_duration_seconds{method}    histogram
//   process_* (see process_metrics.h)
// Task histograms use the buckets kTaskBuckets and always `target="provider"`. The task series
// with a fixed label set (status ok/err, attempts 2–10) exist from the start with zero values,
// so rate() and dashboards work before the first task.
//
// Thread-safety: every method may be called from any thread (observations normally come from
// the event loop). The gauge sources are called by render() on the rendering thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "broker/metrics/registry.h"

namespace wasimoff::metrics {

class BrokerMetrics {
 public:
  static constexpr std::array<double, 9> kTaskBuckets{0.01, 0.1, 0.25, 1, 5, 10, 60, 120, 300};
  static constexpr std::array<double, 13> kHttpBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                       1,     2.5,  5,     10,   60,  300};
  static constexpr int kFirstRetryAttempt = 2;
  static constexpr int kLastRetryAttempt = 10;

  struct QueueStats {
    std::uint64_t queued = 0;       // wasimoff_tasks_queued
    std::uint64_t dispatching = 0;  // wasimoff_tasks_dispatching
  };
  struct ProviderStats {
    std::uint64_t connected = 0;          // wasimoff_connected_providers
    std::uint64_t available_workers = 0;  // wasimoff_available_workers{type="providers"}
  };

  // Registers every series above (including the process metrics) in an own registry.
  BrokerMetrics();
  BrokerMetrics(const BrokerMetrics&) = delete;
  BrokerMetrics& operator=(const BrokerMetrics&) = delete;

  // A task ended. `ok` = no Broker-level error (a module that failed or exited non-zero still
  // counts as ok; cancellation, deadline and transport failure do not). `seconds` = time since
  // the Broker accepted the task.
  void task_completed(bool ok, double seconds);
  // A task was handed to a provider (every successful assignment, retries too); `seconds` =
  // time since the Broker accepted the task.
  void task_scheduled(double seconds);
  // A task's last assignment ended after `seconds`.
  void task_execution(bool ok, double seconds);
  // Retry number `attempt` (2 … 10) starts. Other values are a caller bug: logged, not counted.
  void task_retry(int attempt);

  // A task attempt got no result within WASIMOFF_ATTEMPT_TIMEOUT (cancelled, retried elsewhere).
  void attempt_timed_out();
  void module_refused();
  // A provider's session was closed because several attempts in a row timed out.
  void provider_closed_for_timeouts();

  // One HTTP request finished (called by the servers for every request on both listeners).
  // Methods outside the standard set are counted as "other" and codes outside 100–599 as
  // "other", so clients cannot create unbounded label values.
  void observe_http(std::string_view method, unsigned status, double seconds);

  // Gauge sources, called at every render(); until set the gauges read 0. May be set or
  // replaced at any time, from any thread. A source must be cheap and must not block; it runs on
  // the thread that renders (the event loop for GET /metrics) and must not call render().
  void set_queue_source(std::function<QueueStats()> source);
  void set_provider_source(std::function<ProviderStats()> source);

  // The full Prometheus text exposition (Content-Type: kExpositionContentType).
  std::string render() const;

  Registry& registry() { return registry_; }
  const Registry& registry() const { return registry_; }

 private:
  QueueStats queue_stats() const;
  ProviderStats provider_stats() const;

  Registry registry_;
  HistogramFamily& completed_;
  HistogramFamily& scheduled_;
  HistogramFamily& execution_;
  CounterFamily& retries_;
  CounterFamily& attempt_timeouts_;
  CounterFamily& module_refusals_;
  CounterFamily& timeout_closes_;
  GaugeFamily& queued_;
  GaugeFamily& dispatching_;
  GaugeFamily& available_workers_;
  GaugeFamily& connected_providers_;
  CounterFamily& http_requests_;
  HistogramFamily& http_duration_;

  mutable std::mutex sources_mu_;
  std::function<QueueStats()> queue_source_;
  std::function<ProviderStats()> provider_source_;
};

}  // namespace wasimoff::metrics
