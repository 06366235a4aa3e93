// Runs one task inside a worker process (docs/provider-internals.md §1, §3.3): a fresh in-memory
// filesystem from the rootfs archive, a fresh WASI context, a fresh module instance with the memory
// limit applied, `_start`, then the artifacts archive. Everything the task created is gone
// afterwards; only the loaded module stays.
//
// Traps come back through wasm2c's runtime (longjmp from a trap or from its SIGSEGV handler) and
// become the error texts of §1.2. A fault that kills the process (or the supervisor's SIGKILL on
// timeout/cancel) is reported by the supervisor, not here.
#pragma once

#include <cstdint>
#include <string>

#include "provider/worker/module_loader.h"
#include "provider/worker/worker.pb.h"

namespace wasimoff::worker {

// The §1.2 text for a wasm2c trap code.
std::string trap_message(int trap);

// Runs `request` on `module` and returns the reply (response, timestamps; rss is the caller's).
// `rootfs_fd` is the attached rootfs archive when `request.rootfs_attached()`, else -1.
RunReply run_task(const LoadedModule& module, const RunRequest& request, int rootfs_fd = -1);

}  // namespace wasimoff::worker
