#include "provider/worker/task_runner.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasm-rt-impl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "common/file_ref.h"
#include "common/zip_archive.h"
#include "contract/contract.h"
#include "provider/engine/module_abi.h"
#include "provider/memfs/filesystem.h"
#include "provider/wasi/context.h"
#include "provider/wasi/instance.h"

#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER
#error "the worker relies on wasm2c's guard-page memories (WASM_RT_MEMCHECK_SIGNAL_HANDLER)"
#endif

namespace wasimoff::worker {

namespace v1 = wasimoff::v1;

namespace {

// wasm2c 1.0.32 reserves this much address space per memory but unmaps only the committed part
// in wasm_rt_free_memory(); we release the rest, or a long-lived worker would run out of
// address space (and of mappings) after some thousand tasks.
constexpr std::size_t kMemoryReservation = 0x200000000ul;
// wasm2c 1.0.32 computes byte sizes in 32 bits, so 65536 pages (4 GiB) would wrap to 0.
constexpr std::uint64_t kMaxPages = 65535;
constexpr std::size_t kStderrTail = 1024;

std::int64_t now_ns() {
  return memfs::Filesystem::now();
}

class TaskError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the whole archive from `fd` (from its start; the descriptor is the supervisor's cached
// file, opened read-only).
std::string read_archive(int fd) {
  std::string out;
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (off_t offset = 0;;) {
    ssize_t r = ::pread(fd, buf, sizeof buf, offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw TaskError("rootfs: cannot read cached archive: " + std::string(std::strerror(errno)));
    }
    if (r == 0) break;
    out.append(buf, static_cast<std::size_t>(r));
    offset += r;
  }
  return out;
}

void load_rootfs(memfs::Filesystem& fs, std::string_view zip, std::uint64_t limit) {
  ZipReadLimits limits;
  limits.max_expanded_bytes = limit;
  try {
    read_zip(zip, limits, [&](ZipEntry&& e) {
      std::int64_t mtime = e.mtime * 1'000'000'000;
      memfs::Errc r = e.is_directory ? fs.add_directory(e.name, mtime)
                                     : fs.add_file(e.name, std::move(e.data), mtime);
      if (r == memfs::Errc::kNoSpace)
        throw TaskError("rootfs: expanded size exceeds the filesystem limit");
      if (r != memfs::Errc::kOk)
        throw TaskError("rootfs: entry \"" + e.name + "\": " + std::string(memfs::to_string(r)));
    });
  } catch (const ZipError& e) {
    throw TaskError(std::string("rootfs: ") + e.what());
  }
}

// Lexically normalises an artifact path; false when it would leave the tree.
bool normalize_artifact(std::string_view path, std::vector<std::string>* parts) {
  parts->clear();
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg == "..") {
      if (parts->empty()) return false;
      parts->pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts->emplace_back(seg);
    }
    start = end + 1;
  }
  return true;
}

std::string build_artifacts(const memfs::Filesystem& fs,
                            const google::protobuf::RepeatedPtrField<std::string>& paths) {
  ZipWriter zip;
  std::set<std::string> added;
  auto add = [&](const std::string& name, const memfs::Node& node) {
    std::int64_t mtime = node.times().mtim / 1'000'000'000;
    if (node.is_file()) {
      if (added.insert(name).second) zip.add_file(name, node.data(), mtime);
    } else if (!name.empty() && added.insert(name + "/").second) {
      zip.add_directory(name + "/", mtime);
    }
  };
  std::vector<std::string> parts;
  for (const std::string& requested : paths) {
    if (!normalize_artifact(requested, &parts)) continue;  // outside the tree: never exists
    memfs::NodePtr node = fs.root();
    std::string name;
    for (const std::string& p : parts) {
      node = fs.lookup(*node, p);
      if (!node) break;
      name += name.empty() ? p : "/" + p;
    }
    if (!node) continue;  // missing paths are skipped
    // Depth-first over the subtree, without recursion.
    std::vector<std::pair<std::string, memfs::NodePtr>> stack{{name, node}};
    while (!stack.empty()) {
      auto [n, cur] = std::move(stack.back());
      stack.pop_back();
      add(n, *cur);
      if (cur->is_directory()) {
        for (auto it = cur->entries().rbegin(); it != cur->entries().rend(); ++it)
          stack.emplace_back(n.empty() ? it->first : n + "/" + it->first, it->second);
      }
    }
  }
  return zip.finish();
}

std::string stderr_tail(const std::string& err) {
  if (err.empty()) return {};
  std::size_t start = err.size() > kStderrTail ? err.size() - kStderrTail : 0;
  // Do not start inside a UTF-8 sequence.
  while (start < err.size() && (static_cast<unsigned char>(err[start]) & 0xc0) == 0x80) ++start;
  return "\n" + err.substr(start);
}

// Instantiates and runs the module. Kept apart (and out of line) because wasm_rt_impl_try is
// sigsetjmp: a trap longjmps back into this frame, so nothing here may need destruction and all
// results go through the pointers.
__attribute__((noinline)) wasm_rt_trap_t guarded_run(const LoadedModule* m, void* instance,
                                                     Z_wasi_snapshot_preview1_instance_t* wasi,
                                                     Z_wasi_unstable_instance_t* unstable,
                                                     std::uint32_t max_pages, bool* instantiated,
                                                     bool* over_limit, std::int64_t* started) {
  wasm_rt_trap_t trap = static_cast<wasm_rt_trap_t>(wasm_rt_impl_try());
  if (trap != WASM_RT_TRAP_NONE) return trap;
  *instantiated = true;  // set first: a trap inside instantiate still needs free_instance
  m->instantiate(instance, wasi, unstable);
  wasm_rt_memory_t* mem = m->memory(instance);
  if (mem->pages > max_pages) {
    *over_limit = true;
    return WASM_RT_TRAP_NONE;
  }
  if (mem->max_pages > max_pages) mem->max_pages = max_pages;
  *started = now_ns();
  m->start(instance);
  return WASM_RT_TRAP_NONE;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

std::string trap_message(int trap) {
  switch (trap) {
    case WASM_RT_TRAP_OOB:
      return "trap: out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "trap: integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "trap: integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "trap: invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE:
      return "trap: unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "trap: indirect call type mismatch";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
      return "trap: uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION:
      return "trap: call stack exhausted";
    default:
      return "trap: unknown trap " + std::to_string(trap);
  }
}

namespace {

// Fills `fs` with the request's rootfs (inline or attached); the error text, or empty.
std::string load_request_rootfs(memfs::Filesystem& fs, const RunRequest& request, int rootfs_fd,
                                std::uint64_t fs_limit) {
  try {
    if (request.has_rootfs_zip()) {
      load_rootfs(fs, request.rootfs_zip(), fs_limit);
    } else if (request.rootfs_attached()) {
      if (rootfs_fd < 0) throw TaskError("rootfs: archive not attached");
      load_rootfs(fs, read_archive(rootfs_fd), fs_limit);
    }
  } catch (const TaskError& e) {
    return e.what();
  }
  return {};
}

// The Response for how the run ended: exit status, outputs and artifacts, or the error.
void set_outcome(v1::Task::Wasip1::Response* response, wasi::Context& context,
                 const memfs::Filesystem& fs, const v1::Task::Wasip1::Params& params,
                 wasm_rt_trap_t trap, bool over_limit, std::uint64_t output_limit) {
  if (context.stop_reason() == wasi::StopReason::kOutputTooLarge) {
    response->set_error(std::string(contract::errors::kOutputTooLarge));
  } else if (context.stop_reason() == wasi::StopReason::kExit || trap == WASM_RT_TRAP_NONE) {
    if (over_limit) {
      response->set_error("memory limit exceeded");
    } else {
      auto* out = response->mutable_ok();
      out->set_status(context.stop_reason() == wasi::StopReason::kExit ? context.exit_code() : 0);
      if (params.artifacts_size() > 0) {
        std::string zip = build_artifacts(fs, params.artifacts());
        out->mutable_artifacts()->set_media(std::string(kMediaZip));
        out->mutable_artifacts()->set_blob(std::move(zip));
      }
      std::uint64_t total = context.stdout_data().size() + context.stderr_data().size() +
                            (out->has_artifacts() ? out->artifacts().blob().size() : 0);
      if (total > output_limit) {
        response->set_error(std::string(contract::errors::kOutputTooLarge));
      } else {
        out->set_stdout(context.take_stdout());
        out->set_stderr(context.take_stderr());
      }
    }
  } else {
    response->set_error(trap_message(trap) + stderr_tail(context.stderr_data()));
  }
}

}  // namespace

RunReply run_task(const LoadedModule& module, const RunRequest& request, int rootfs_fd) {
  RunReply reply;
  auto* response = reply.mutable_response();
  const auto& params = request.params();
  std::uint64_t output_limit = request.has_output_limit() ? request.output_limit() : 63ull << 20;
  std::uint64_t fs_limit = request.has_fs_limit() ? request.fs_limit() : 256ull << 20;
  std::uint64_t memory_limit = request.has_memory_limit() ? request.memory_limit() : 1ull << 30;
  std::uint32_t max_pages =
      static_cast<std::uint32_t>(std::min(kMaxPages, memory_limit / engine::kWasmPageSize));

  // The filesystem outlives the context (fd table) that points into it.
  memfs::Filesystem fs(fs_limit);
  if (std::string error = load_request_rootfs(fs, request, rootfs_fd, fs_limit); !error.empty()) {
    response->set_error(std::move(error));
    return reply;
  }
  reply.set_prepared_unixnano(now_ns());

  if (module.initial_pages > max_pages) {
    response->set_error("memory limit exceeded");
    return reply;
  }

  wasi::ContextOptions options;
  options.args.assign(params.args().begin(), params.args().end());
  options.envs.assign(params.envs().begin(), params.envs().end());
  options.stdin_data = params.stdin();
  options.output_limit = output_limit;
  if (request.has_deadline_unixnano()) options.deadline_ns = request.deadline_unixnano();
  wasi::Context context(fs, std::move(options));
  // One context behind both import module names (a module may import from both).
  Z_wasi_snapshot_preview1_instance_t wasi{&context};
  Z_wasi_unstable_instance_t unstable{&context};

  std::unique_ptr<void, FreeDeleter> instance(
      std::calloc(1, std::max<std::size_t>(module.instance_size, 1)));
  if (!instance) {
    response->set_error("memory limit exceeded");
    return reply;
  }
  wasm_rt_memory_t* memory = module.memory(instance.get());  // address only; filled by instantiate
  context.bind_memory(memory);

  bool instantiated = false, over_limit = false;
  std::int64_t started = now_ns();
  wasm_rt_trap_t trap = guarded_run(&module, instance.get(), &wasi, &unstable, max_pages,
                                    &instantiated, &over_limit, &started);
  reply.set_started_unixnano(started);
  reply.set_finished_unixnano(now_ns());

  set_outcome(response, context, fs, params, trap, over_limit, output_limit);

  if (instantiated) {
    std::uint8_t* data = memory->data;
    module.free_instance(instance.get());
    if (data) munmap(data, kMemoryReservation);
  }
  return reply;
}

}  // namespace wasimoff::worker
