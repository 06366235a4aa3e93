#include "broker/metrics/broker_metrics.h"

#include <gtest/gtest.h>

#include <ctime>
#include <optional>
#include <sstream>
#include <string>

#include "broker/metrics/process_metrics.h"

namespace wasimoff::metrics {
namespace {

// Value of the sample line `series` (name plus label set exactly as rendered), if present.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(BrokerMetrics, ExportsEverySpecSeriesWithItsType) {
  BrokerMetrics m;
  auto text = m.render();
  const std::pair<const char*, const char*> series[] = {
      {"wasimoff_tasks_completed", "histogram"},
      {"wasimoff_tasks_scheduled", "histogram"},
      {"wasimoff_tasks_execution", "histogram"},
      {"wasimoff_task_retries_count", "counter"},
      {"wasimoff_tasks_queued", "gauge"},
      {"wasimoff_tasks_dispatching", "gauge"},
      {"wasimoff_available_workers", "gauge"},
      {"wasimoff_connected_providers", "gauge"},
      {"wasimoff_http_requests_total", "counter"},
      {"wasimoff_http_request_duration_seconds", "histogram"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  for (auto [name, type] : series) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(has_line(text, std::string("# TYPE ") + name + " " + type));
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos);
  }
}

TEST(BrokerMetrics, TaskSeriesExistBeforeTheFirstTaskWithSpecBuckets) {
  BrokerMetrics m;
  auto text = m.render();
  for (const char* le : {"0.01", "0.1", "0.25", "1", "5", "10", "60", "120", "300", "+Inf"}) {
    SCOPED_TRACE(le);
    for (const char* status : {"ok", "err"}) {
      EXPECT_EQ(sample(text, std::string("wasimoff_tasks_completed_bucket{status=\"") + status +
                                 "\",target=\"provider\",le=\"" + le + "\"}"),
                0.0);
      EXPECT_EQ(sample(text, std::string("wasimoff_tasks_execution_bucket{status=\"") + status +
                                 "\",target=\"provider\",le=\"" + le + "\"}"),
                0.0);
    }
    EXPECT_EQ(
        sample(text, std::string("wasimoff_tasks_scheduled_bucket{target=\"provider\",le=\"") + le +
                         "\"}"),
        0.0);
  }
  // Exactly the ten buckets of the spec, no more.
  std::size_t buckets = 0;
  for (auto pos = text.find("wasimoff_tasks_scheduled_bucket{"); pos != std::string::npos;
       pos = text.find("wasimoff_tasks_scheduled_bucket{", pos + 1))
    ++buckets;
  EXPECT_EQ(buckets, 10u);
  for (int a = 2; a <= 10; ++a)
    EXPECT_EQ(sample(text, "wasimoff_task_retries_count{attempt=\"" + std::to_string(a) + "\"}"),
              0.0);
  EXPECT_FALSE(sample(text, "wasimoff_task_retries_count{attempt=\"1\"}").has_value());
}

TEST(BrokerMetrics, TaskObservationsLandInTheRightSeries) {
  BrokerMetrics m;
  m.task_completed(true, 0.5);
  m.task_completed(false, 200);
  m.task_scheduled(0.01);
  m.task_scheduled(0.02);
  m.task_execution(true, 7);
  m.task_retry(3);
  m.task_retry(3);
  m.task_retry(10);
  m.task_retry(1);   // outside 2..10: not counted
  m.task_retry(11);  // outside 2..10: not counted
  auto text = m.render();
  const std::string ok = "{status=\"ok\",target=\"provider\"";
  const std::string err = "{status=\"err\",target=\"provider\"";
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_bucket" + ok + ",le=\"0.25\"}"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_bucket" + ok + ",le=\"1\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_sum" + ok + "}"), 0.5);
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_bucket" + err + ",le=\"120\"}"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_bucket" + err + ",le=\"300\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_completed_count" + err + "}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_scheduled_bucket{target=\"provider\",le=\"0.01\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_scheduled_bucket{target=\"provider\",le=\"0.1\"}"), 2.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_scheduled_count{target=\"provider\"}"), 2.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_execution_bucket" + ok + ",le=\"5\"}"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_execution_bucket" + ok + ",le=\"10\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_execution_count" + err + "}"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_task_retries_count{attempt=\"3\"}"), 2.0);
  EXPECT_EQ(sample(text, "wasimoff_task_retries_count{attempt=\"10\"}"), 1.0);
  EXPECT_FALSE(sample(text, "wasimoff_task_retries_count{attempt=\"11\"}").has_value());
}

TEST(BrokerMetrics, ModuleRefusalsAreCountedFromZero) {
  BrokerMetrics m;
  EXPECT_EQ(sample(m.render(), "wasimoff_task_module_refusals_total"), 0.0);
  m.module_refused();
  m.module_refused();
  auto text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE wasimoff_task_module_refusals_total counter"));
  EXPECT_EQ(sample(text, "wasimoff_task_module_refusals_total"), 2.0);
}

TEST(BrokerMetrics, GaugesReadZeroUntilSourcesAreSet) {
  BrokerMetrics m;
  auto text = m.render();
  EXPECT_EQ(sample(text, "wasimoff_tasks_queued"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_dispatching"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_available_workers{type=\"providers\"}"), 0.0);
  EXPECT_EQ(sample(text, "wasimoff_connected_providers"), 0.0);

  BrokerMetrics::QueueStats queue{12, 3};
  m.set_queue_source([&] { return queue; });
  m.set_provider_source([] { return BrokerMetrics::ProviderStats{2, 16}; });
  text = m.render();
  EXPECT_EQ(sample(text, "wasimoff_tasks_queued"), 12.0);
  EXPECT_EQ(sample(text, "wasimoff_tasks_dispatching"), 3.0);
  EXPECT_EQ(sample(text, "wasimoff_available_workers{type=\"providers\"}"), 16.0);
  EXPECT_EQ(sample(text, "wasimoff_connected_providers"), 2.0);

  queue.queued = 0;  // computed at scrape time, not cached
  EXPECT_EQ(sample(m.render(), "wasimoff_tasks_queued"), 0.0);
}

TEST(BrokerMetrics, HttpRequestsHaveBoundedLabels) {
  BrokerMetrics m;
  m.observe_http("GET", 200, 0.002);
  m.observe_http("GET", 200, 0.2);
  m.observe_http("POST", 429, 1.5);
  m.observe_http("BREW", 418, 0.001);  // not a standard method
  m.observe_http("get", 404, 0.001);   // methods are case-sensitive (RFC 9110 §9.1)
  m.observe_http("GET", 1000, 0.001);  // not an HTTP status
  auto text = m.render();
  EXPECT_EQ(sample(text, "wasimoff_http_requests_total{method=\"GET\",code=\"200\"}"), 2.0);
  EXPECT_EQ(sample(text, "wasimoff_http_requests_total{method=\"POST\",code=\"429\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_http_requests_total{method=\"other\",code=\"418\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_http_requests_total{method=\"other\",code=\"404\"}"), 1.0);
  EXPECT_EQ(sample(text, "wasimoff_http_requests_total{method=\"GET\",code=\"other\"}"), 1.0);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
  EXPECT_EQ(sample(text, "wasimoff_http_request_duration_seconds_count{method=\"GET\"}"), 3.0);
  EXPECT_EQ(
      sample(text, "wasimoff_http_request_duration_seconds_bucket{method=\"GET\",le=\"0.005\"}"),
      2.0);
  EXPECT_EQ(sample(text, "wasimoff_http_request_duration_seconds_bucket{method=\"POST\",le=\"1\"}"),
            0.0);
  EXPECT_EQ(
      sample(text, "wasimoff_http_request_duration_seconds_bucket{method=\"POST\",le=\"2.5\"}"),
      1.0);
}

TEST(ProcessMetrics, ReadsThisProcess) {
  auto s = read_process_stats();
  ASSERT_TRUE(s.has_value()) << "/proc/self must be readable on Linux";
  EXPECT_GE(s->open_fds, 3);  // at least stdin, stdout, stderr
  EXPECT_GT(s->resident_bytes, 0);
  EXPECT_GE(s->virtual_bytes, s->resident_bytes);
  EXPECT_GE(s->cpu_seconds, 0);
  EXPECT_GT(s->max_fds, 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(s->start_time_seconds, now + 1);
  EXPECT_GT(s->start_time_seconds, now - 30 * 24 * 3600.0);  // started within a month

  BrokerMetrics m;
  auto text = m.render();
  auto fds = sample(text, "process_open_fds");
  ASSERT_TRUE(fds.has_value());
  EXPECT_GE(*fds, 3);
  EXPECT_GT(sample(text, "process_resident_memory_bytes").value_or(0), 0);
  EXPECT_TRUE(sample(text, "process_cpu_seconds_total").has_value());
  EXPECT_NEAR(sample(text, "process_start_time_seconds").value_or(0), s->start_time_seconds, 1.0);
}

}  // namespace
}  // namespace wasimoff::metrics
