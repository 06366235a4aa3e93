#include "client/job_expansion.h"

#include "protocol/job_inheritance.h"

namespace wasimoff::client {

std::vector<v1::Task::Wasip1::Request> expand_job(const v1::Task::Wasip1::JobRequest& job) {
  std::vector<v1::Task::Wasip1::Request> out;
  out.reserve(job.tasks_size());
  const auto& parent = job.parent();
  for (const auto& task : job.tasks()) {
    v1::Task::Wasip1::Request r;
    *r.mutable_params() = task;
    protocol::inherit_params(parent, *r.mutable_params());
    if (job.has_qos()) *r.mutable_qos() = job.qos();
    if (job.info().has_reference()) r.mutable_info()->set_reference(job.info().reference());
    if (job.info().has_trace()) *r.mutable_info()->mutable_trace() = job.info().trace();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace wasimoff::client
