#include "broker/metrics/broker_metrics.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

#include "broker/metrics/process_metrics.h"

namespace wasimoff::metrics {

namespace {

constexpr std::string_view kTarget = "provider";

template <std::size_t N>
std::vector<double> to_vector(const std::array<double, N>& a) {
  return std::vector<double>(a.begin(), a.end());
}

std::string_view status_label(bool ok) {
  return ok ? "ok" : "err";
}

// Bounded label values for HTTP methods: the registered methods, everything else "other".
std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                "OPTIONS", "CONNECT", "PATCH", "TRACE"};
  for (auto m : kKnown)
    if (m == method) return m;
  return "other";
}

}  // namespace

BrokerMetrics::BrokerMetrics()
    : completed_(registry_.histogram(
          "wasimoff_tasks_completed",
          "Seconds from accepting a task to its completion (status=err: Broker-level error).",
          {"status", "target"}, to_vector(kTaskBuckets))),
      scheduled_(registry_.histogram("wasimoff_tasks_scheduled",
                                     "Seconds from accepting a task to handing it to a provider "
                                     "(observed on every assignment, retries too).",
                                     {"target"}, to_vector(kTaskBuckets))),
      execution_(registry_.histogram("wasimoff_tasks_execution",
                                     "Seconds from a task's last assignment to its completion.",
                                     {"status", "target"}, to_vector(kTaskBuckets))),
      retries_(registry_.counter("wasimoff_task_retries_count",
                                 "Retry attempts of tasks, by attempt number.", {"attempt"})),
      attempt_timeouts_(registry_.counter(
          "wasimoff_task_attempt_timeouts_total",
          "Task attempts that got no result within WASIMOFF_ATTEMPT_TIMEOUT (cancelled on their "
          "provider and retried elsewhere).")),
      module_refusals_(registry_.counter(
          "wasimoff_task_module_refusals_total",
          "Task assignments a provider answered with a module refusal (unsupported module); "
          "the task was placed elsewhere without consuming an attempt.")),
      timeout_closes_(registry_.counter(
          "wasimoff_provider_timeout_closes_total",
          "Provider connections closed because several task attempts in a row timed out.")),
      queued_(registry_.gauge("wasimoff_tasks_queued", "Tasks waiting for a slot.")),
      dispatching_(registry_.gauge("wasimoff_tasks_dispatching",
                                   "Tasks in retry back-off or being assigned.")),
      available_workers_(registry_.gauge("wasimoff_available_workers",
                                         "Sum of the capacities of registered providers.",
                                         {"type"})),
      connected_providers_(
          registry_.gauge("wasimoff_connected_providers", "Registered providers.")),
      http_requests_(registry_.counter("wasimoff_http_requests_total",
                                       "HTTP requests answered, by method and status code.",
                                       {"method", "code"})),
      http_duration_(registry_.histogram("wasimoff_http_request_duration_seconds",
                                         "Seconds from request to complete response, by method.",
                                         {"method"}, to_vector(kHttpBuckets))) {
  for (bool ok : {true, false}) {
    completed_.touch({status_label(ok), kTarget});
    execution_.touch({status_label(ok), kTarget});
  }
  scheduled_.touch({kTarget});
  for (int a = kFirstRetryAttempt; a <= kLastRetryAttempt; ++a)
    retries_.inc({std::to_string(a)}, 0);
  attempt_timeouts_.inc({}, 0);
  module_refusals_.inc({}, 0);
  timeout_closes_.inc({}, 0);

  queued_.set_function({}, [this] { return static_cast<double>(queue_stats().queued); });
  dispatching_.set_function({}, [this] { return static_cast<double>(queue_stats().dispatching); });
  available_workers_.set_function(
      {"providers"}, [this] { return static_cast<double>(provider_stats().available_workers); });
  connected_providers_.set_function(
      {}, [this] { return static_cast<double>(provider_stats().connected); });

  register_process_metrics(registry_);
}

void BrokerMetrics::task_completed(bool ok, double seconds) {
  completed_.observe({status_label(ok), kTarget}, seconds);
}

void BrokerMetrics::task_scheduled(double seconds) {
  scheduled_.observe({kTarget}, seconds);
}

void BrokerMetrics::task_execution(bool ok, double seconds) {
  execution_.observe({status_label(ok), kTarget}, seconds);
}

void BrokerMetrics::task_retry(int attempt) {
  if (attempt < kFirstRetryAttempt || attempt > kLastRetryAttempt) {
    spdlog::warn("metrics: retry attempt {} outside {}..{} not counted", attempt,
                 kFirstRetryAttempt, kLastRetryAttempt);
    return;
  }
  retries_.inc({std::to_string(attempt)});
}

void BrokerMetrics::attempt_timed_out() {
  attempt_timeouts_.inc();
}

void BrokerMetrics::module_refused() {
  module_refusals_.inc();
}

void BrokerMetrics::provider_closed_for_timeouts() {
  timeout_closes_.inc();
}

void BrokerMetrics::observe_http(std::string_view method, unsigned status, double seconds) {
  const std::string code = status >= 100 && status <= 599 ? std::to_string(status) : "other";
  const auto m = method_label(method);
  http_requests_.inc({m, code});
  http_duration_.observe({m}, seconds);
}

void BrokerMetrics::set_queue_source(std::function<QueueStats()> source) {
  std::lock_guard lock(sources_mu_);
  queue_source_ = std::move(source);
}

void BrokerMetrics::set_provider_source(std::function<ProviderStats()> source) {
  std::lock_guard lock(sources_mu_);
  provider_source_ = std::move(source);
}

BrokerMetrics::QueueStats BrokerMetrics::queue_stats() const {
  std::function<QueueStats()> source;
  {
    std::lock_guard lock(sources_mu_);
    source = queue_source_;
  }
  return source ? source() : QueueStats{};
}

BrokerMetrics::ProviderStats BrokerMetrics::provider_stats() const {
  std::function<ProviderStats()> source;
  {
    std::lock_guard lock(sources_mu_);
    source = provider_source_;
  }
  return source ? source() : ProviderStats{};
}

std::string BrokerMetrics::render() const {
  return registry_.render();
}

}  // namespace wasimoff::metrics
