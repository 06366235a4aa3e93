// Primitives of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): value formatting, escaping,
// name validation and sample lines. Used by Registry::render().
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wasimoff::metrics {

// Content-Type of GET /metrics (docs/http-api.md §7).
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Sample value: "+Inf", "-Inf", "NaN"; integral values below 2^53 without exponent or decimal
// point ("3", "0"); everything else in the shortest form that parses back to the same double
// ("0.25", "1e-05").
std::string format_value(double v);

// Label value escaping: backslash → `\\`, double quote → `\"`, line feed → `\n`.
std::string escape_label_value(std::string_view value);
// HELP text escaping: backslash → `\\`, line feed → `\n` (quotes stay as they are).
std::string escape_help(std::string_view help);

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: [a-zA-Z_][a-zA-Z0-9_]* and not starting
// with "__" (reserved for Prometheus itself).
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

using LabelPairs = std::vector<std::pair<std::string_view, std::string_view>>;

// Appends one sample line: `name{l1="v1",l2="v2"} value\n` (no braces without labels).
void append_sample(std::string& out, std::string_view name, const LabelPairs& labels, double value);

}  // namespace wasimoff::metrics
