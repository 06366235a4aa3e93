#include "broker/scheduler/task.h"

#include "protocol/task_trace.h"

namespace wasimoff::broker {

std::string_view kind_name(TaskKind kind) {
  return kind == TaskKind::kWasip1 ? "wasip1" : "pyodide";
}

Task::Task(asio::any_io_executor ex, TaskKind kind,
           std::unique_ptr<google::protobuf::Message> request)
    : kind_(kind), request_(std::move(request)), done_(ex), stop_timers_(ex) {}

v1::Task::Metadata& Task::info() {
  if (kind_ == TaskKind::kWasip1)
    return *static_cast<v1::Task::Wasip1::Request&>(*request_).mutable_info();
  return *static_cast<v1::Task::Pyodide::Request&>(*request_).mutable_info();
}

const v1::Task::Metadata& Task::info() const {
  if (kind_ == TaskKind::kWasip1)
    return static_cast<const v1::Task::Wasip1::Request&>(*request_).info();
  return static_cast<const v1::Task::Pyodide::Request&>(*request_).info();
}

v1::Task::QoS& Task::qos() {
  if (kind_ == TaskKind::kWasip1)
    return *static_cast<v1::Task::Wasip1::Request&>(*request_).mutable_qos();
  return *static_cast<v1::Task::Pyodide::Request&>(*request_).mutable_qos();
}

const v1::Task::QoS& Task::qos() const {
  if (kind_ == TaskKind::kWasip1)
    return static_cast<const v1::Task::Wasip1::Request&>(*request_).qos();
  return static_cast<const v1::Task::Pyodide::Request&>(*request_).qos();
}

void Task::trace(v1::Task::TraceEvent::EventType event, std::string details) {
  protocol::append_trace_event(info(), event, std::move(details));
}

}  // namespace wasimoff::broker
