#include "protocol/job_inheritance.h"

namespace wasimoff::protocol {

void inherit_params(const v1::Task::Wasip1::Params& parent, v1::Task::Wasip1::Params& task) {
  if (!task.has_binary() && parent.has_binary()) *task.mutable_binary() = parent.binary();
  if (!task.has_rootfs() && parent.has_rootfs()) *task.mutable_rootfs() = parent.rootfs();
  if (!task.has_stdin() && parent.has_stdin()) task.set_stdin(parent.stdin());
  if (task.args().empty()) *task.mutable_args() = parent.args();
  if (task.envs().empty()) *task.mutable_envs() = parent.envs();
  if (task.artifacts().empty()) *task.mutable_artifacts() = parent.artifacts();
}

}  // namespace wasimoff::protocol
