// How a job's tasks inherit the job's `parent` parameters (docs/scheduling.md §9): one rule,
// used by the Broker when it packs a task of a job for a provider, and by the client when it
// submits a job's tasks one by one.
#pragma once

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::protocol {

// Every field `task` leaves unset is copied whole from `parent`: binary, rootfs and stdin when
// absent; args, envs and artifacts when empty. Lists are replaced, never merged.
void inherit_params(const v1::Task::Wasip1::Params& parent, v1::Task::Wasip1::Params& task);

}  // namespace wasimoff::protocol
