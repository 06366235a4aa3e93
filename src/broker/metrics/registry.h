// A small Prometheus registry: counter, gauge and histogram families with labels, rendered in
// the text exposition format 0.0.4 (see exposition.h). No external client library.
//
// Thread-safety: every method may be called from any thread. Each family guards its series
// with its own mutex; observations are a map lookup plus an add under that mutex. Callback
// series (set_function) are evaluated by render() on the calling thread, outside every lock,
// so a callback may itself use the registry.
//
// Bounds: a family holds at most `max_series_per_family` label combinations. Observations
// that would create more are dropped (one warning per family is logged), so a label fed from
// outside input can never grow memory without limit.
//
// Misuse (invalid or duplicate names, a label named "le" on a histogram, unsorted buckets,
// the wrong number of label values) throws std::invalid_argument: those are programming errors
// that tests catch.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::metrics {

// Label values of one series, in the order of the family's label names.
using LabelValues = std::initializer_list<std::string_view>;

namespace detail {
// Orders stored label vectors and allows lookups with string_views without allocating.
struct LabelLess {
  using is_transparent = void;
  bool operator()(const std::vector<std::string>& a, const std::vector<std::string>& b) const;
  bool operator()(const std::vector<std::string>& a, std::span<const std::string_view> b) const;
  bool operator()(std::span<const std::string_view> a, const std::vector<std::string>& b) const;
};
}  // namespace detail

class Family {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  Family(Type type, std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_series);
  virtual ~Family() = default;
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Number of label combinations currently held.
  std::size_t series_count() const;

  // Appends `# HELP`, `# TYPE` and every series (sorted by label values) to `out`. The HELP and
  // TYPE lines are written even when the family has no series yet.
  void render(std::string& out) const;

 protected:
  // Checks the number of label values; throws std::invalid_argument naming the metric.
  std::span<const std::string_view> check(LabelValues labels) const;
  // Called with mu_ held when a new series would exceed the bound; logs once.
  void warn_full() const;
  bool full() const { return series_count_locked() >= max_series_; }
  virtual std::size_t series_count_locked() const = 0;
  virtual void render_series(std::string& out) const = 0;

  mutable std::mutex mu_;
  const Type type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::size_t max_series_;
  mutable bool warned_full_ = false;
};

// Counter or gauge: one double per series, or a callback evaluated at render time.
class ScalarFamily : public Family {
 public:
  using Family::Family;

  // Value of a stored series (0 when absent; the callback result for callback series).
  double value(LabelValues labels = {}) const;
  // Makes the series report fn() at every render (replacing any stored value). fn runs on the
  // thread calling render(); an exception from it drops the series from that scrape.
  void set_function(LabelValues labels, std::function<double()> fn);

 protected:
  // Adds (or with `replace` sets) the stored value of a series.
  void update(LabelValues labels, double amount, bool replace);

 private:
  struct Series {
    double value = 0;
    std::function<double()> fn;
  };
  std::size_t series_count_locked() const override { return series_.size(); }
  void render_series(std::string& out) const override;

  std::map<std::vector<std::string>, Series, detail::LabelLess> series_;
};

class CounterFamily : public ScalarFamily {
 public:
  using ScalarFamily::ScalarFamily;
  // Adds `amount` (must be >= 0; negative or NaN amounts are ignored: counters never go down).
  void inc(LabelValues labels = {}, double amount = 1);
};

class GaugeFamily : public ScalarFamily {
 public:
  using ScalarFamily::ScalarFamily;
  void set(LabelValues labels, double value);
  void add(LabelValues labels, double amount);
};

class HistogramFamily : public Family {
 public:
  // `bounds`: finite, strictly increasing upper bounds; `+Inf` is implicit.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds, std::size_t max_series);

  // Counts `v` into the first bucket whose bound is >= v (and every later one, cumulatively).
  // NaN is ignored.
  void observe(LabelValues labels, double v);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Current state of a series (all zero when absent).
  Snapshot snapshot(LabelValues labels = {}) const;
  const std::vector<double>& bounds() const { return bounds_; }
  // Creates the series with zero counts so it is exported before the first observation.
  void touch(LabelValues labels);

 private:
  struct Series {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative; last = +Inf bucket
    double sum = 0;
    std::uint64_t count = 0;
  };
  Series* find_or_create(LabelValues labels);
  std::size_t series_count_locked() const override { return series_.size(); }
  void render_series(std::string& out) const override;

  const std::vector<double> bounds_;
  std::map<std::vector<std::string>, Series, detail::LabelLess> series_;
};

class Registry {
 public:
  static constexpr std::size_t kDefaultMaxSeries = 1000;
  explicit Registry(std::size_t max_series_per_family = kDefaultMaxSeries);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family. The returned reference stays valid for the registry's lifetime.
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> label_names, std::vector<double> bounds);

  // The full exposition: families in registration order, series sorted by label values.
  std::string render() const;

  // Names of all registered families, in registration order.
  std::vector<std::string> names() const;

 private:
  template <typename F, typename... Args>
  F& add(Args&&... args);

  mutable std::mutex mu_;
  std::size_t max_series_;
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace wasimoff::metrics
