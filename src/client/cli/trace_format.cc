#include "client/cli/trace_format.h"

#include <fmt/format.h>

#include <chrono>

namespace wasimoff::cli {

std::int64_t unix_nanos_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void request_trace(v1::Task::Metadata* info) {
  if (!info->has_trace()) info->mutable_trace()->set_created(unix_nanos_now());
}

void add_trace_event(v1::Task::Metadata* info, v1::Task::TraceEvent::EventType event,
                     std::string_view details) {
  if (!info->has_trace()) return;
  auto* e = info->mutable_trace()->add_events();
  e->set_unixnano(unix_nanos_now());
  e->set_event(event);
  if (!details.empty()) e->set_details(std::string(details));
}

std::string format_trace(const v1::Task::Metadata& info, std::string_view label) {
  if (!info.has_trace()) return "";
  const auto& trace = info.trace();
  std::string out = fmt::format("trace of {}", label);
  if (info.has_provider() && !info.provider().empty())
    out += fmt::format(" (provider {})", info.provider());
  out += ":\n";
  std::int64_t origin = trace.created();
  if (origin == 0 && trace.events_size() > 0) origin = trace.events(0).unixnano();
  std::int64_t previous = origin;
  bool first = true;
  for (const auto& e : trace.events()) {
    double at = static_cast<double>(e.unixnano() - origin) / 1e6;
    std::string step =
        first ? "" : fmt::format("{:+.3f} ms", static_cast<double>(e.unixnano() - previous) / 1e6);
    int number = static_cast<int>(e.event());
    std::string name = v1::Task::TraceEvent::EventType_IsValid(number)
                           ? v1::Task::TraceEvent::EventType_Name(e.event())
                           : fmt::format("event {}", number);
    out += fmt::format("  {:>12.3f} ms  {:>13}  {}", at, step, name);
    if (e.has_details() && !e.details().empty()) out += "  " + e.details();
    out += "\n";
    previous = e.unixnano();
    first = false;
  }
  if (trace.events_size() == 0) out += "  (no events)\n";
  return out;
}

}  // namespace wasimoff::cli
