#include "broker/metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "broker/metrics/exposition.h"

namespace wasimoff::metrics {
namespace {

TEST(Exposition, ValueFormatting) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-42), "-42");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.01), "0.01");
  EXPECT_EQ(format_value(21.5), "21.5");
  EXPECT_EQ(format_value(1e-05), "1e-05");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  // Shortest round-trip form: parses back to the same double.
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Exposition, Escaping) {
  EXPECT_EQ(escape_label_value(R"(a"b\c)"
                               "\nd"),
            R"(a\"b\\c\nd)");
  EXPECT_EQ(escape_label_value("plain ünïcode"), "plain ünïcode");
  EXPECT_EQ(escape_help("say \"hi\"\\\nbye"), "say \"hi\"\\\\\\nbye");
}

TEST(Exposition, NameValidation) {
  EXPECT_TRUE(valid_metric_name("wasimoff_tasks_completed"));
  EXPECT_TRUE(valid_metric_name("ns:sub_total"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_TRUE(valid_label_name("status"));
  EXPECT_FALSE(valid_label_name("__name__"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_FALSE(valid_label_name("9"));
}

TEST(Registry, RendersExactTextFormat) {
  Registry r;
  auto& c = r.counter("app_requests_total", "Requests.\nSecond line \\ end", {"path"});
  c.inc({"/a"});
  c.inc({"/a"}, 2);
  c.inc({"quote\"back\\slash\nnl"});
  r.gauge("app_temp", "Temperature.").set({}, 21.5);
  auto& h = r.histogram("app_latency_seconds", "Latency.", {"op"}, {0.25, 1, 5});
  for (double v : {0.125, 0.25, 3.0, 100.0}) h.observe({"read"}, v);
  r.gauge("app_unused", "Registered, never set.", {"x"});

  EXPECT_EQ(r.render(),
            "# HELP app_requests_total Requests.\\nSecond line \\\\ end\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{path=\"/a\"} 3\n"
            "app_requests_total{path=\"quote\\\"back\\\\slash\\nnl\"} 1\n"
            "# HELP app_temp Temperature.\n"
            "# TYPE app_temp gauge\n"
            "app_temp 21.5\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"0.25\"} 2\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"5\"} 3\n"
            "app_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum{op=\"read\"} 103.375\n"
            "app_latency_seconds_count{op=\"read\"} 4\n"
            "# HELP app_unused Registered, never set.\n"
            "# TYPE app_unused gauge\n");
}

TEST(Registry, SeriesAreSortedByLabelValues) {
  Registry r;
  auto& c = r.counter("c_total", "c", {"a", "b"});
  c.inc({"y", "1"});
  c.inc({"x", "2"});
  c.inc({"x", "1"});
  EXPECT_EQ(r.render(),
            "# HELP c_total c\n# TYPE c_total counter\n"
            "c_total{a=\"x\",b=\"1\"} 1\nc_total{a=\"x\",b=\"2\"} 1\nc_total{a=\"y\",b=\"1\"} 1\n");
}

TEST(Histogram, BucketMath) {
  Registry r;
  auto& h = r.histogram("h", "h", {}, {0.01, 0.1, 1});
  h.observe({}, -5);     // below every bound: first bucket
  h.observe({}, 0.01);   // exactly on a bound: that bucket (le = "less or equal")
  h.observe({}, 0.011);  // just above: next bucket
  h.observe({}, 1);
  h.observe({}, 1.5);  // only +Inf
  h.observe({}, std::numeric_limits<double>::infinity());
  h.observe({}, std::nan(""));  // ignored
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_TRUE(std::isinf(s.sum));

  auto& g = r.histogram("g", "g", {"k"}, {1, 2});
  g.observe({"a"}, 0.5);
  g.observe({"a"}, 1.5);
  g.observe({"a"}, 1.75);
  auto a = g.snapshot({"a"});
  EXPECT_EQ(a.cumulative, (std::vector<std::uint64_t>{1, 3, 3}));
  EXPECT_DOUBLE_EQ(a.sum, 3.75);
  auto absent = g.snapshot({"b"});
  EXPECT_EQ(absent.cumulative, (std::vector<std::uint64_t>{0, 0, 0}));
  EXPECT_EQ(absent.count, 0u);
}

TEST(Histogram, TouchExportsZeroSeries) {
  Registry r;
  r.histogram("t", "t", {"k"}, {1}).touch({"v"});
  EXPECT_EQ(r.render(),
            "# HELP t t\n# TYPE t histogram\n"
            "t_bucket{k=\"v\",le=\"1\"} 0\nt_bucket{k=\"v\",le=\"+Inf\"} 0\n"
            "t_sum{k=\"v\"} 0\nt_count{k=\"v\"} 0\n");
}

TEST(Registry, CountersNeverGoDown) {
  Registry r;
  auto& c = r.counter("c_total", "c");
  c.inc({}, 2);
  c.inc({}, -1);
  c.inc({}, std::nan(""));
  EXPECT_EQ(c.value(), 2);
}

TEST(Registry, GaugesSetAndAdd) {
  Registry r;
  auto& g = r.gauge("g", "g", {"k"});
  g.set({"a"}, 5);
  g.add({"a"}, -2);
  g.add({"b"}, 1.5);
  EXPECT_EQ(g.value({"a"}), 3);
  EXPECT_EQ(g.value({"b"}), 1.5);
  EXPECT_EQ(g.value({"absent"}), 0);
}

TEST(Registry, FunctionSeriesAreEvaluatedAtRender) {
  Registry r;
  auto& g = r.gauge("queue", "q");
  double current = 1;
  g.set_function({}, [&] { return current; });
  EXPECT_NE(r.render().find("\nqueue 1\n"), std::string::npos);
  current = 7;
  EXPECT_NE(r.render().find("\nqueue 7\n"), std::string::npos);
  EXPECT_EQ(g.value(), 7);

  // A failing callback drops only its own series from the scrape.
  auto& h = r.gauge("broken", "b", {"k"});
  h.set_function({"x"}, []() -> double { throw std::runtime_error("source gone"); });
  h.set({"y"}, 2);
  auto text = r.render();
  EXPECT_EQ(text.find("broken{k=\"x\"}"), std::string::npos);
  EXPECT_NE(text.find("broken{k=\"y\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("\nqueue 7\n"), std::string::npos);
}

TEST(Registry, CallbacksMayUseTheRegistry) {
  Registry r;
  auto& inner = r.counter("renders_total", "r");
  r.gauge("g", "g").set_function({}, [&] {
    inner.inc();
    return 1.0;
  });
  r.render();
  EXPECT_EQ(inner.value(), 1);  // no deadlock: callbacks run outside the locks
}

TEST(Registry, LabelCombinationsAreBounded) {
  Registry r(2);
  auto& c = r.counter("c_total", "c", {"user"});
  c.inc({"a"});
  c.inc({"b"});
  c.inc({"c"});  // dropped
  c.inc({"a"});  // existing series still count
  EXPECT_EQ(c.series_count(), 2u);
  EXPECT_EQ(c.value({"a"}), 2);
  EXPECT_EQ(c.value({"c"}), 0);
  auto& h = r.histogram("h", "h", {"k"}, {1});
  h.observe({"1"}, 0);
  h.observe({"2"}, 0);
  h.observe({"3"}, 0);
  EXPECT_EQ(h.series_count(), 2u);
  EXPECT_EQ(r.render().find("user=\"c\""), std::string::npos);
}

TEST(Registry, MisuseThrowsWithTheMetricName) {
  Registry r;
  EXPECT_THROW(r.counter("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("dup_labels", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h1", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2", "x", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h3", "x", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h4", "x", {}, {1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
  auto& c = r.counter("c_total", "x", {"a", "b"});
  EXPECT_THROW(r.gauge("c_total", "again"), std::invalid_argument);
  try {
    c.inc({"only-one"});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("c_total"), std::string::npos);
  }
  EXPECT_EQ(r.names(), (std::vector<std::string>{"c_total"}));
}

TEST(Registry, ConcurrentObservationsAreAllCounted) {
  Registry r;
  auto& c = r.counter("c_total", "c", {"t"});
  auto& h = r.histogram("h", "h", {}, {0.5});
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        c.inc({t % 2 ? "odd" : "even"});
        h.observe({}, i % 2 ? 1.0 : 0.25);
        if (i % 1000 == 0) r.render();
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.value({"odd"}) + c.value({"even"}), kThreads * kEach);
  auto s = h.snapshot();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(s.cumulative[0], static_cast<std::uint64_t>(kThreads * kEach / 2));
}

}  // namespace
}  // namespace wasimoff::metrics
