// Task traces (Task.Metadata.trace, docs/protocol.md §2.4) for `--trace`: the client's own events
// and the timeline printed after a task.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::cli {

// Wall-clock time in Unix nanoseconds (the unit of TraceEvent.unixnano).
std::int64_t unix_nanos_now();

// Requests tracing: sets trace.created to now (when there is no trace yet).
void request_trace(v1::Task::Metadata* info);

// Appends an event stamped now, if `info` carries a trace (callers check has_info() first when
// they do not want an empty info created).
void add_trace_event(v1::Task::Metadata* info, v1::Task::TraceEvent::EventType event,
                     std::string_view details = {});

// The timeline as text, one event per line in recorded order: milliseconds since
// trace.created, the step since the previous event, the event name (the number for names this
// build does not know) and details. Empty when `info` has no trace. Times come from the clocks
// of client, Broker and provider, which may differ slightly.
//
//   trace of task 17 (provider vm):
//        0.000 ms               ClientTransmitRequest
//        0.412 ms    +0.412 ms  BrokerReceivedClientRequest
std::string format_trace(const v1::Task::Metadata& info, std::string_view label);

}  // namespace wasimoff::cli
