#include "broker/scheduler/task.h"

#include "protocol/any_payload.h"
#include "protocol/task_trace.h"

namespace wasimoff::broker {

std::string_view kind_name(TaskKind kind) {
  return kind == TaskKind::kWasip1 ? "wasip1" : "pyodide";
}

Task::Task(asio::any_io_executor ex, TaskKind kind,
           std::unique_ptr<google::protobuf::Message> request,
           std::shared_ptr<const v1::Task::Wasip1::Params> parent)
    : kind_(kind),
      request_(std::move(request)),
      parent_(kind == TaskKind::kWasip1 ? std::move(parent) : nullptr),
      done_(ex),
      stop_timers_(ex),
      deadline_timer_(ex) {}

void Task::pack_request(google::protobuf::Any* out) const {
  if (!parent_) {
    protocol::pack_any(*request_, out);
    return;
  }
  // The expanded copy lives only until it is serialized.
  v1::Task::Wasip1::Request expanded(static_cast<const v1::Task::Wasip1::Request&>(*request_));
  inherit_params(*parent_, *expanded.mutable_params());
  protocol::pack_any(expanded, out);
}

void inherit_params(const v1::Task::Wasip1::Params& parent, v1::Task::Wasip1::Params& task) {
  if (!task.has_binary() && parent.has_binary()) *task.mutable_binary() = parent.binary();
  if (!task.has_rootfs() && parent.has_rootfs()) *task.mutable_rootfs() = parent.rootfs();
  if (!task.has_stdin() && parent.has_stdin()) task.set_stdin(parent.stdin());
  if (task.args().empty()) *task.mutable_args() = parent.args();
  if (task.envs().empty()) *task.mutable_envs() = parent.envs();
  if (task.artifacts().empty()) *task.mutable_artifacts() = parent.artifacts();
}

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
