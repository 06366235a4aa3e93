// Exit statuses of the wasimoff CLI (documented in docs/cli.md).
//
// A single task passes its own exit status through, so `wasimoff exec prog.wasm` behaves like
// running prog itself. The CLI's own failures use the values that `docker run` uses for the same
// purpose, above the range programs normally use.
#pragma once

#include <cstdint>

namespace wasimoff::cli {

inline constexpr int kExitOk = 0;
// A job with at least one failed task (non-zero exit status or an error).
inline constexpr int kExitJobFailed = 1;
// The command line could not be parsed.
inline constexpr int kExitUsage = 2;
// wasimoff itself failed: Broker unreachable, Broker error (unknown ref, bad request, no token,
// queue full, …), or an unusable local input (missing file, bad task file).
inline constexpr int kExitClientError = 125;
// The task ran into an error instead of exiting: trap, unsupported module, timeout or
// cancellation on the provider (Task.Wasip1.Response.error).
inline constexpr int kExitTaskError = 126;

// A task's exit status as a process exit status: 0–255 unchanged; anything else (WASI allows
// the full 32 bits) becomes 255 so that a failure never looks like success.
inline int exit_status_for(std::int32_t task_status) {
  return task_status >= 0 && task_status <= 255 ? task_status : 255;
}

}  // namespace wasimoff::cli
