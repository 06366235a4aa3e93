// A task as the Broker tracks it from admission to completion (docs/scheduling.md §1).
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/providers/provider_caps.h"
#include "common/async.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/job_inheritance.h"
#include "protocol/task_kind.h"
#include "wasimoff/v1/messages.pb.h"

namespace google::protobuf {
class Any;
}

namespace wasimoff::broker {

class ProviderSession;

using protocol::kind_name;
using protocol::TaskKind;

class Task {
 public:
  enum class State { kAdmitting, kQueued, kBackoff, kActive, kDone };

  // `request` is a Task.Wasip1.Request or Task.Pyodide.Request with resolved files. A task of
  // a job also gets the job's `parent` params, shared by all its tasks: the request keeps only
  // the task's own params, and every unset field is taken whole from the parent when the
  // request is packed for a provider (docs/scheduling.md §9 inheritance). So a job holds its parent
  // once, however many tasks inherit it; an expanded copy exists only while it is being sent.
  // `clock` (the Scheduler's) dates `accepted` and runs the deadline timer.
  Task(asio::any_io_executor ex, protocol::TaskRequest request,
       std::shared_ptr<const v1::Task::Wasip1::Params> parent = nullptr,
       Clock& clock = Clock::real());

  TaskKind kind() const { return protocol::kind_of(request_); }
  const std::string& id() const { return info().id(); }
  const protocol::TaskRequest& request() const { return request_; }
  // The request as a provider receives it (inheritance applied), packed into `out`.
  void pack_request(google::protobuf::Any* out) const;
  v1::Task::Metadata& info();
  const v1::Task::Metadata& info() const;
  v1::Task::QoS& qos();              // creates the QoS message if absent
  const v1::Task::QoS& qos() const;  // the default instance if absent
  bool tracing() const { return info().has_trace(); }
  // Appends a Broker trace event when tracing was requested.
  void trace(v1::Task::TraceEvent::EventType event, std::string details = {});

  // Admission inputs, set by the API layer before Scheduler::admit().
  std::vector<std::string> required_refs;  // canonical sha256 refs of binary/rootfs given by ref
  // The binary of a Wasip1 task (its sha256 and what the Broker parsed from it), shared by the
  // tasks of a job that inherit it; nullptr for Pyodide tasks.
  std::shared_ptr<const ModuleFacts> module;
  std::optional<std::chrono::system_clock::time_point> deadline;  // effective deadline
  std::chrono::steady_clock::time_point accepted;                 // construction time
  bool priority() const { return qos().priority(); }
  bool immediate() const { return qos().immediate(); }
  // Placement inputs (read by PlacementStrategy): providers that failed an attempt of this task,
  // and providers that refused its module.
  bool avoids(std::uint64_t provider_id) const { return avoid_.count(provider_id) > 0; }
  bool refused_by(std::uint64_t provider_id) const { return refused_by_.count(provider_id) > 0; }

  // Outcome: exactly one of `error` (never an ok Status) / `response` once done() is set.
  OneShotEvent& done() { return done_; }
  const std::optional<Status>& error() const { return error_; }
  // The response of the task's kind, with the Broker's metadata.
  std::optional<protocol::TaskResponse>& response() { return response_; }

 private:
  friend class Scheduler;

  protocol::TaskRequest request_;
  std::shared_ptr<const v1::Task::Wasip1::Params> parent_;
  OneShotEvent done_;
  std::optional<Status> error_;
  std::optional<protocol::TaskResponse> response_;

  // Scheduler state (owned by the Scheduler, on the loop).
  State state_ = State::kAdmitting;
  std::uint64_t admission_seq_ = 0;
  int attempts_ = 0;
  int oversized_attempts_ = 0;  // attempts that ended in kResourceExhausted (output too large)
  std::vector<std::string> attempt_errors_;
  std::set<std::uint64_t> avoid_;       // provider ids that failed an attempt
  std::set<std::uint64_t> refused_by_;  // provider ids that refused the module (bounded)
  int refusals_ = 0;
  std::string last_refusal_;
  std::weak_ptr<ProviderSession> provider_;  // provider of the current attempt
  bool holds_slot_ = false;
  std::chrono::steady_clock::time_point assigned_;
  std::shared_ptr<OneShotEvent> abandon_attempt_;  // set to stop waiting for the provider
  OneShotEvent stop_timers_;                       // ends the back-off wait
  Clock::Timer deadline_timer_;                    // Scheduler::arm_deadline; cancelled at finish
};

// The job inheritance rule (docs/scheduling.md §9), shared with the client.
using protocol::inherit_params;

}  // namespace wasimoff::broker
