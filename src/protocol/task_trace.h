// Task trace events (docs/protocol.md §2.4, Task.Metadata.trace): the timeline a client asks for by
// sending an (empty) trace in the task's metadata, extended by every hop the task passes.
#pragma once

#include <string>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::protocol {

// Appends `event` stamped with the current wall-clock time (Unix nanoseconds) to info.trace,
// with `details` when not empty. Does nothing unless the client asked for a trace (info has one).
void append_trace_event(v1::Task::Metadata& info, v1::Task::TraceEvent::EventType event,
                        std::string details = {});

}  // namespace wasimoff::protocol
