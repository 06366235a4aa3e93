// The task kinds of the protocol and their messages, typed: a request or response of either kind
// is a std::variant, so code that handles "a task" reaches each kind's fields without casting an
// erased protobuf::Message back (docs/protocol.md §2.4–§2.6). Both kinds' messages have the same
// field names for what every task has (info, qos, error), so generic lambdas serve both:
//
//   std::visit([](auto& r) -> v1::Task::Metadata& { return *r.mutable_info(); }, request);
#pragma once

#include <string_view>
#include <variant>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::protocol {

// In the order of the variants' alternatives below.
enum class TaskKind { kWasip1, kPyodide };

constexpr std::string_view kind_name(TaskKind kind) {
  return kind == TaskKind::kWasip1 ? "wasip1" : "pyodide";
}

using TaskRequest = std::variant<v1::Task::Wasip1::Request, v1::Task::Pyodide::Request>;
using TaskResponse = std::variant<v1::Task::Wasip1::Response, v1::Task::Pyodide::Response>;

inline TaskKind kind_of(const TaskRequest& request) {
  return static_cast<TaskKind>(request.index());
}
inline TaskKind kind_of(const TaskResponse& response) {
  return static_cast<TaskKind>(response.index());
}

// An empty response of `kind` (the type a provider must answer a request of that kind with).
inline TaskResponse empty_response(TaskKind kind) {
  if (kind == TaskKind::kWasip1) return v1::Task::Wasip1::Response();
  return v1::Task::Pyodide::Response();
}

}  // namespace wasimoff::protocol
