#include "protocol/task_trace.h"

#include <chrono>

namespace wasimoff::protocol {

void append_trace_event(v1::Task::Metadata& info, v1::Task::TraceEvent::EventType event,
                        std::string details) {
  if (!info.has_trace()) return;
  auto* e = info.mutable_trace()->add_events();
  e->set_unixnano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
  e->set_event(event);
  if (!details.empty()) e->set_details(std::move(details));
}

}  // namespace wasimoff::protocol
