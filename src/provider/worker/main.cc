// wasimoff-worker: one sandboxed task executor process of the native provider
// (docs/provider-internals.md §3.2).
//
// Started by the supervisor's WorkerPool (never by users), already as the sandbox user when the
// provider runs as root:
//   wasimoff-worker --channel-fd 3 [--data-limit <bytes>] [--parent-pid <pid>] [--no-seccomp]
// It hardens itself and installs its seccomp filter before it loads any compiled code, says Hello
// on the channel, then loops: read one RunRequest with its attached module (and rootfs)
// descriptors, load the compiled module (kept loaded), run the task in a fresh instance, write one
// RunReply. A clean EOF on the channel ends the process with status 0; any protocol error ends it
// with status 2.
#include <fcntl.h>
#include <unistd.h>
#include <wasm-rt.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "provider/worker/frame.h"
#include "provider/worker/module_loader.h"
#include "provider/worker/sandbox.h"
#include "provider/worker/task_runner.h"
#include "provider/worker/worker.pb.h"

namespace {

using namespace wasimoff::worker;

struct Args {
  int channel_fd = 3;
  std::uint64_t data_limit = 0;
  pid_t parent_pid = 0;
  std::size_t max_loaded_modules = 32;
  bool seccomp = true;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "wasimoff-worker: %s\n(this program is started by wasimoff-provider)\n",
               msg);
  std::exit(2);
}

std::uint64_t number(const char* s) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || !end || *end) usage("bad number");
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing option value");
      return argv[++i];
    };
    if (arg == "--channel-fd") {
      a.channel_fd = static_cast<int>(number(value()));
    } else if (arg == "--data-limit") {
      a.data_limit = number(value());
    } else if (arg == "--parent-pid") {
      a.parent_pid = static_cast<pid_t>(number(value()));
    } else if (arg == "--max-loaded-modules") {
      a.max_loaded_modules = static_cast<std::size_t>(number(value()));
      if (a.max_loaded_modules == 0) usage("--max-loaded-modules must be at least 1");
    } else if (arg == "--no-seccomp") {
      a.seccomp = false;
    } else {
      usage("unknown option");
    }
  }
  return a;
}

// Resident set size from /proc/self/statm (opened before the seccomp filter goes on).
std::uint64_t rss_bytes(int statm_fd) {
  if (statm_fd < 0) return 0;
  char buf[128];
  ssize_t n = pread(statm_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  try {
    HardeningOptions h;
    h.channel_fd = args.channel_fd;
    h.data_limit = args.data_limit;
    h.parent_pid = args.parent_pid;
    harden_process(h);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasimoff-worker: hardening failed: %s\n", e.what());
    return 2;
  }
  wasm_rt_init();
  int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  // From here on only the allow-list: no compiled code is loaded before this point, so not even a
  // module's initialiser (which the engine's checks rule out anyway) runs unfiltered.
  if (args.seccomp) {
    try {
      install_seccomp_filter();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "wasimoff-worker: %s\n", e.what());
      return 2;
    }
  }

  try {
    Hello hello;
    hello.set_pid(static_cast<std::uint32_t>(getpid()));
    hello.set_abi(kWorkerAbi);
    write_all(args.channel_fd, encode_frame(hello));

    ModuleLoader loader(args.max_loaded_modules);
    std::string body;
    std::vector<ReceivedFd> fds;
    while (read_frame(args.channel_fd, &body, kMaxFrameSize, &fds)) {
      RunRequest request;
      if (!request.ParseFromString(body)) {
        std::fprintf(stderr, "wasimoff-worker: undecodable request\n");
        return 2;
      }
      body.clear();
      body.shrink_to_fit();
      std::size_t expected =
          (request.module_attached() ? 1 : 0) + (request.rootfs_attached() ? 1 : 0);
      if (fds.size() != expected) {
        std::fprintf(stderr, "wasimoff-worker: request with %zu descriptors, expected %zu\n",
                     fds.size(), expected);
        return 2;
      }
      RunReply reply;
      const std::size_t rootfs_index = request.module_attached() ? 1 : 0;
      if (!request.module_attached() && !loader.contains(request.module_key())) {
        reply.set_module_missing(true);
      } else {
        try {
          int module_fd = request.module_attached() ? fds[0].release() : -1;
          const LoadedModule& module = loader.load(request.module_key(), module_fd);
          reply =
              run_task(module, request, request.rootfs_attached() ? fds[rootfs_index].get() : -1);
        } catch (const ModuleLoadError& e) {
          reply.mutable_response()->set_error(e.what());
        }
      }
      fds.clear();
      reply.set_rss_bytes(rss_bytes(statm));
      write_all(args.channel_fd, encode_frame(reply));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wasimoff-worker: %s\n", e.what());
    return 2;
  }
  return 0;
}
