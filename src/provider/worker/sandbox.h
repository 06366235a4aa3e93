// Process hardening of a worker (docs/provider-internals.md §3.2). Guest code is compiled from
// WebAssembly by wasm2c and cannot make system calls by itself; these layers limit the damage
// should that sandbox ever break, and contain resource exhaustion:
//
//  * harden_process(), at start-up: close every fd but the channel (and stdio), clear the
//    environment, PR_SET_NO_NEW_PRIVS, die with the supervisor (PR_SET_PDEATHSIG), RLIMIT_CORE 0,
//    a small RLIMIT_NOFILE and RLIMIT_DATA = memory limit + filesystem limit + 256 MiB. The data
//    limit counts the committed part of linear memory, so memory.grow fails cleanly (-1) instead
//    of the kernel's OOM killer picking a process. Never RLIMIT_AS: wasm2c reserves 8 GiB of
//    address space per memory.
//    Not dumpable (PR_SET_DUMPABLE 0), so other processes of the sandbox user cannot ptrace it.
//    Privileges are dropped before the worker starts: the supervisor executes it as the sandbox
//    user when the provider runs as root (engine/process_sandbox.h).
//  * install_seccomp_filter(), at start-up, before any compiled module is loaded (so no code of
//    a module, not even an initialiser, ever runs unfiltered): an allow-list of exactly what the
//    task loop needs (read/recvmsg/write on the channel, memory management with W^X, read-only
//    openat for dlopen() of attached modules, clocks, getrandom, exit). Anything else kills the
//    process with SIGSYS, which the supervisor reports as `worker crashed: signal 31`.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace wasimoff::worker {

struct HardeningOptions {
  int channel_fd = 3;            // kept open
  std::uint64_t data_limit = 0;  // RLIMIT_DATA bytes; 0 = leave unchanged
  std::uint64_t max_open_files = 64;
  pid_t parent_pid = 0;  // exit at once if the supervisor is already gone; 0 = skip
};

// Throws std::system_error when a step fails.
void harden_process(const HardeningOptions& options);

// Throws std::runtime_error when libseccomp fails. Irreversible.
void install_seccomp_filter();

}  // namespace wasimoff::worker
