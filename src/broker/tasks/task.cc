#include "broker/tasks/task.h"

#include "protocol/any_payload.h"
#include "protocol/task_trace.h"

namespace wasimoff::broker {

Task::Task(asio::any_io_executor ex, protocol::TaskRequest request,
           std::shared_ptr<const v1::Task::Wasip1::Params> parent, Clock& clock)
    : accepted(clock.steady_now()),
      request_(std::move(request)),
      parent_(kind() == TaskKind::kWasip1 ? std::move(parent) : nullptr),
      done_(ex),
      stop_timers_(ex),
      deadline_timer_(ex, clock) {}

void Task::pack_request(google::protobuf::Any* out) const {
  const auto* wasip1 = std::get_if<v1::Task::Wasip1::Request>(&request_);
  if (!parent_ || !wasip1) {
    std::visit([out](const auto& r) { protocol::pack_any(r, out); }, request_);
    return;
  }
  // The expanded copy lives only until it is serialized.
  v1::Task::Wasip1::Request expanded(*wasip1);
  inherit_params(*parent_, *expanded.mutable_params());
  protocol::pack_any(expanded, out);
}

v1::Task::Metadata& Task::info() {
  return std::visit([](auto& r) -> v1::Task::Metadata& { return *r.mutable_info(); }, request_);
}

const v1::Task::Metadata& Task::info() const {
  return std::visit([](const auto& r) -> const v1::Task::Metadata& { return r.info(); }, request_);
}

v1::Task::QoS& Task::qos() {
  return std::visit([](auto& r) -> v1::Task::QoS& { return *r.mutable_qos(); }, request_);
}

const v1::Task::QoS& Task::qos() const {
  return std::visit([](const auto& r) -> const v1::Task::QoS& { return r.qos(); }, request_);
}

void Task::trace(v1::Task::TraceEvent::EventType event, std::string details) {
  protocol::append_trace_event(info(), event, std::move(details));
}

}  // namespace wasimoff::broker
