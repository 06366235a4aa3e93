#include "client/job_expansion.h"

namespace wasimoff::client {

std::vector<v1::Task::Wasip1::Request> expand_job(const v1::Task::Wasip1::JobRequest& job) {
  std::vector<v1::Task::Wasip1::Request> out;
  out.reserve(job.tasks_size());
  const auto& parent = job.parent();
  for (const auto& task : job.tasks()) {
    v1::Task::Wasip1::Request r;
    auto& p = *r.mutable_params();
    p = task;
    if (!p.has_binary() && parent.has_binary()) *p.mutable_binary() = parent.binary();
    if (!p.has_rootfs() && parent.has_rootfs()) *p.mutable_rootfs() = parent.rootfs();
    if (!p.has_stdin() && parent.has_stdin()) p.set_stdin(parent.stdin());
    if (p.args().empty()) *p.mutable_args() = parent.args();
    if (p.envs().empty()) *p.mutable_envs() = parent.envs();
    if (p.artifacts().empty()) *p.mutable_artifacts() = parent.artifacts();
    if (job.has_qos()) *r.mutable_qos() = job.qos();
    if (job.info().has_reference()) r.mutable_info()->set_reference(job.info().reference());
    if (job.info().has_trace()) *r.mutable_info()->mutable_trace() = job.info().trace();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace wasimoff::client
