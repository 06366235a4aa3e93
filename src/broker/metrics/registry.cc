#include "broker/metrics/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>

#include "broker/metrics/exposition.h"

namespace wasimoff::metrics {

namespace detail {

namespace {
template <typename A, typename B>
bool less(const A& a, const B& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](std::string_view x, std::string_view y) { return x < y; });
}
}  // namespace

bool LabelLess::operator()(const std::vector<std::string>& a,
                           const std::vector<std::string>& b) const {
  return less(a, b);
}
bool LabelLess::operator()(const std::vector<std::string>& a,
                           std::span<const std::string_view> b) const {
  return less(a, b);
}
bool LabelLess::operator()(std::span<const std::string_view> a,
                           const std::vector<std::string>& b) const {
  return less(a, b);
}

}  // namespace detail

namespace {

std::string_view type_name(Family::Type t) {
  switch (t) {
    case Family::Type::kCounter:
      return "counter";
    case Family::Type::kGauge:
      return "gauge";
    case Family::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

LabelPairs pairs(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  LabelPairs out;
  out.reserve(names.size() + 1);
  for (std::size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], values[i]);
  return out;
}

std::vector<std::string> to_key(std::span<const std::string_view> labels) {
  return std::vector<std::string>(labels.begin(), labels.end());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Family

Family::Family(Type type, std::string name, std::string help, std::vector<std::string> label_names,
               std::size_t max_series)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series) {
  if (!valid_metric_name(name_))
    throw std::invalid_argument("metric name '" + name_ + "' is not a valid Prometheus name");
  std::set<std::string_view> seen;
  for (const auto& l : label_names_) {
    if (!valid_label_name(l))
      throw std::invalid_argument("label name '" + l + "' of metric " + name_ + " is invalid");
    if (!seen.insert(l).second)
      throw std::invalid_argument("label name '" + l + "' repeated in metric " + name_);
  }
}

std::size_t Family::series_count() const {
  std::lock_guard lock(mu_);
  return series_count_locked();
}

std::span<const std::string_view> Family::check(LabelValues labels) const {
  if (labels.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values, got " +
                                std::to_string(labels.size()));
  return {labels.begin(), labels.size()};
}

void Family::warn_full() const {
  if (warned_full_) return;
  warned_full_ = true;
  spdlog::warn("metric {} reached its limit of {} label combinations; new ones are dropped", name_,
               max_series_);
}

void Family::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out.push_back(' ');
  out += escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out.push_back(' ');
  out += type_name(type_);
  out.push_back('\n');
  render_series(out);
}

// ---------------------------------------------------------------------------------------------
// ScalarFamily (counters and gauges)

double ScalarFamily::value(LabelValues labels) const {
  auto key = check(labels);
  std::function<double()> fn;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) return 0;
    if (!it->second.fn) return it->second.value;
    fn = it->second.fn;
  }
  return fn();
}

void ScalarFamily::set_function(LabelValues labels, std::function<double()> fn) {
  auto key = check(labels);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (full()) return warn_full();
    it = series_.emplace(to_key(key), Series{}).first;
  }
  it->second.fn = std::move(fn);
}

void ScalarFamily::update(LabelValues labels, double amount, bool replace) {
  auto key = check(labels);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (full()) return warn_full();
    it = series_.emplace(to_key(key), Series{}).first;
  }
  it->second.fn = nullptr;
  it->second.value = replace ? amount : it->second.value + amount;
}

void ScalarFamily::render_series(std::string& out) const {
  struct Row {
    std::vector<std::string> labels;
    double value;
    std::function<double()> fn;
  };
  std::vector<Row> rows;
  {
    std::lock_guard lock(mu_);
    rows.reserve(series_.size());
    for (const auto& [labels, s] : series_) rows.push_back({labels, s.value, s.fn});
  }
  // Callbacks run without the lock (they may take their own locks or touch metrics).
  for (auto& row : rows) {
    double v = row.value;
    if (row.fn) {
      try {
        v = row.fn();
      } catch (const std::exception& e) {
        spdlog::warn("metric {}: value callback failed: {}", name_, e.what());
        continue;
      }
    }
    append_sample(out, name_, pairs(label_names_, row.labels), v);
  }
}

void CounterFamily::inc(LabelValues labels, double amount) {
  if (!(amount >= 0)) return;  // also rejects NaN
  update(labels, amount, false);
}

void GaugeFamily::set(LabelValues labels, double value) {
  update(labels, value, true);
}
void GaugeFamily::add(LabelValues labels, double amount) {
  update(labels, amount, false);
}

// ---------------------------------------------------------------------------------------------
// HistogramFamily

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds,
                                 std::size_t max_series)
    : Family(Type::kHistogram, std::move(name), std::move(help), std::move(label_names),
             max_series),
      bounds_(std::move(bounds)) {
  for (const auto& l : label_names_)
    if (l == "le")
      throw std::invalid_argument("histogram " + name_ + " must not use the label name 'le'");
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw std::invalid_argument("histogram " + name_ + ": bucket bounds must be finite");
    if (i > 0 && !(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram " + name_ +
                                  ": bucket bounds must be strictly increasing");
  }
}

HistogramFamily::Series* HistogramFamily::find_or_create(LabelValues labels) {
  auto key = check(labels);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (full()) {
      warn_full();
      return nullptr;
    }
    Series s;
    s.counts.assign(bounds_.size() + 1, 0);
    it = series_.emplace(to_key(key), std::move(s)).first;
  }
  return &it->second;
}

void HistogramFamily::observe(LabelValues labels, double v) {
  if (std::isnan(v)) {
    check(labels);
    return;
  }
  // First bound >= v; past the end means the +Inf bucket.
  auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                        bounds_.begin());
  std::lock_guard lock(mu_);
  Series* s = find_or_create(labels);
  if (!s) return;
  ++s->counts[index];
  s->sum += v;
  ++s->count;
}

void HistogramFamily::touch(LabelValues labels) {
  std::lock_guard lock(mu_);
  find_or_create(labels);
}

HistogramFamily::Snapshot HistogramFamily::snapshot(LabelValues labels) const {
  auto key = check(labels);
  Snapshot out;
  out.cumulative.assign(bounds_.size() + 1, 0);
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) return out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < it->second.counts.size(); ++i) {
    running += it->second.counts[i];
    out.cumulative[i] = running;
  }
  out.sum = it->second.sum;
  out.count = it->second.count;
  return out;
}

void HistogramFamily::render_series(std::string& out) const {
  const std::string bucket = name_ + "_bucket";
  const std::string sum = name_ + "_sum";
  const std::string count = name_ + "_count";
  std::vector<std::string> le;
  le.reserve(bounds_.size() + 1);
  for (double b : bounds_) le.push_back(format_value(b));
  le.emplace_back("+Inf");

  std::lock_guard lock(mu_);
  for (const auto& [labels, s] : series_) {
    LabelPairs base = pairs(label_names_, labels);
    LabelPairs with_le = base;
    with_le.emplace_back("le", "");
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < s.counts.size(); ++i) {
      running += s.counts[i];
      with_le.back().second = le[i];
      append_sample(out, bucket, with_le, static_cast<double>(running));
    }
    append_sample(out, sum, base, s.sum);
    append_sample(out, count, base, static_cast<double>(s.count));
  }
}

// ---------------------------------------------------------------------------------------------
// Registry

Registry::Registry(std::size_t max_series_per_family) : max_series_(max_series_per_family) {}

template <typename F, typename... Args>
F& Registry::add(Args&&... args) {
  auto family = std::make_unique<F>(std::forward<Args>(args)...);
  F& ref = *family;
  std::lock_guard lock(mu_);
  for (const auto& f : families_)
    if (f->name() == ref.name())
      throw std::invalid_argument("metric " + ref.name() + " is registered twice");
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  return add<CounterFamily>(Family::Type::kCounter, std::move(name), std::move(help),
                            std::move(label_names), max_series_);
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  return add<GaugeFamily>(Family::Type::kGauge, std::move(name), std::move(help),
                          std::move(label_names), max_series_);
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  return add<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                              std::move(bounds), max_series_);
}

std::string Registry::render() const {
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const Family* f : families) f->render(out);
  return out;
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& f : families_) out.push_back(f->name());
  return out;
}

}  // namespace wasimoff::metrics
