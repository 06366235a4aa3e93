// Expansion of a job into its single tasks, with the inheritance rules of docs/scheduling.md §9,
// for clients that submit the tasks of a job one by one (the client WebSocket keeps many of them in
// flight and reports each result as it arrives).
#pragma once

#include <vector>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::client {

// One Request per entry of `job.tasks`, in order, each inheriting from `job.parent`
// (protocol::inherit_params). The job's qos applies to every task; its info.reference and
// info.trace (when present) are copied into each task's info.
std::vector<v1::Task::Wasip1::Request> expand_job(const v1::Task::Wasip1::JobRequest& job);

}  // namespace wasimoff::client
