// The WASI functions as the C symbols wasm2c's generated code imports: the 46 of preview 1
// (`Z_wasi_snapshot_preview1Z_<name>`) and the 45 of preview 0 (`Z_wasi_unstableZ_<name>`;
// wasm2c 1.0.32 mangles `<module>.<name>` into `Z_<module>Z_<name>`, keeping `_`). They live in
// the worker executable (exported with -rdynamic) and are resolved when a compiled module is
// dlopen'ed. Each one forwards to wasi::Context; the preview 0 ones pass Abi::kPreview0 to the
// four functions whose data differ (fd_seek, fd_filestat_get, path_filestat_get, poll_oneoff).
// The static_asserts at the end prove that every export has exactly the signature of
// wasi/signatures.h, which is also what admission checks modules against, and that both tables
// are exported completely.
//
// Ending a run: after proc_exit, or when fd_write overflowed the output limit, the wrapper calls
// wasm_rt_trap() — only here, where no C++ object is alive, so the longjmp back to
// wasm_rt_impl_try skips nothing that needs destruction. The runner then looks at
// Context::stop_reason() before interpreting the trap code.
//
// Exceptions: the callers are C frames compiled without unwind tables, so no C++ exception may
// leave these functions (it would terminate the worker). Allocation failures — plausible near
// RLIMIT_DATA — become ENOMEM for the guest; anything else EIO.
#include <wasm-rt.h>

#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>

#include "provider/wasi/context.h"
#include "provider/wasi/instance.h"
#include "provider/wasi/signatures.h"

using Instance = Z_wasi_snapshot_preview1_instance_t;
using UnstableInstance = Z_wasi_unstable_instance_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

namespace {

template <typename Call>
u32 guarded(Call call) noexcept {
  try {
    return static_cast<u32>(call());
  } catch (const std::bad_alloc&) {
    return wasimoff::wasi::err::kNomem;
  } catch (...) {
    return wasimoff::wasi::err::kIo;
  }
}

}  // namespace

#define WASI_FORWARD(name, params, args)                   \
  extern "C" u32 Z_wasi_snapshot_preview1Z_##name params { \
    return guarded([&] { return w->context->name args; }); \
  }

WASI_FORWARD(args_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(args_sizes_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(environ_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(environ_sizes_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(clock_res_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(clock_time_get, (Instance * w, u32 a, u64 b, u32 c), (a, b, c))
WASI_FORWARD(fd_advise, (Instance * w, u32 a, u64 b, u64 c, u32 d), (a, b, c, d))
WASI_FORWARD(fd_allocate, (Instance * w, u32 a, u64 b, u64 c), (a, b, c))
WASI_FORWARD(fd_close, (Instance * w, u32 a), (a))
WASI_FORWARD(fd_datasync, (Instance * w, u32 a), (a))
WASI_FORWARD(fd_fdstat_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(fd_fdstat_set_flags, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(fd_fdstat_set_rights, (Instance * w, u32 a, u64 b, u64 c), (a, b, c))
WASI_FORWARD(fd_filestat_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(fd_filestat_set_size, (Instance * w, u32 a, u64 b), (a, b))
WASI_FORWARD(fd_filestat_set_times, (Instance * w, u32 a, u64 b, u64 c, u32 d), (a, b, c, d))
WASI_FORWARD(fd_pread, (Instance * w, u32 a, u32 b, u32 c, u64 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(fd_prestat_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(fd_prestat_dir_name, (Instance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD(fd_pwrite, (Instance * w, u32 a, u32 b, u32 c, u64 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(fd_read, (Instance * w, u32 a, u32 b, u32 c, u32 d), (a, b, c, d))
WASI_FORWARD(fd_readdir, (Instance * w, u32 a, u32 b, u32 c, u64 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(fd_renumber, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(fd_seek, (Instance * w, u32 a, u64 b, u32 c, u32 d), (a, b, c, d))
WASI_FORWARD(fd_sync, (Instance * w, u32 a), (a))
WASI_FORWARD(fd_tell, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(path_create_directory, (Instance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD(path_filestat_get, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(path_filestat_set_times,
             (Instance * w, u32 a, u32 b, u32 c, u32 d, u64 e, u64 f, u32 g), (a, b, c, d, e, f, g))
WASI_FORWARD(path_link, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f, u32 g),
             (a, b, c, d, e, f, g))
WASI_FORWARD(path_open,
             (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u64 f, u64 g, u32 h, u32 i),
             (a, b, c, d, e, f, g, h, i))
WASI_FORWARD(path_readlink, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
             (a, b, c, d, e, f))
WASI_FORWARD(path_remove_directory, (Instance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD(path_rename, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
             (a, b, c, d, e, f))
WASI_FORWARD(path_symlink, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(path_unlink_file, (Instance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD(poll_oneoff, (Instance * w, u32 a, u32 b, u32 c, u32 d), (a, b, c, d))
WASI_FORWARD(proc_raise, (Instance * w, u32 a), (a))
WASI_FORWARD(sched_yield, (Instance * w), ())
WASI_FORWARD(random_get, (Instance * w, u32 a, u32 b), (a, b))
WASI_FORWARD(sock_accept, (Instance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD(sock_recv, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
             (a, b, c, d, e, f))
WASI_FORWARD(sock_send, (Instance * w, u32 a, u32 b, u32 c, u32 d, u32 e), (a, b, c, d, e))
WASI_FORWARD(sock_shutdown, (Instance * w, u32 a, u32 b), (a, b))

extern "C" u32 Z_wasi_snapshot_preview1Z_fd_write(Instance* w, u32 fd, u32 iovs, u32 n,
                                                  u32 nwritten) {
  u32 r = guarded([&] { return w->context->fd_write(fd, iovs, n, nwritten); });
  if (w->context->stop_reason() != wasimoff::wasi::StopReason::kNone)
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
  return r;
}

extern "C" void Z_wasi_snapshot_preview1Z_proc_exit(Instance* w, u32 code) {
  w->context->proc_exit(code);
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

// --- wasi_unstable (preview 0)
// --------------------------------------------------------------------

#define WASI_FORWARD_P0(name, params, args)                \
  extern "C" u32 Z_wasi_unstableZ_##name params {          \
    return guarded([&] { return w->context->name args; }); \
  }

using wasimoff::wasi::Abi;

WASI_FORWARD_P0(args_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(args_sizes_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(environ_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(environ_sizes_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(clock_res_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(clock_time_get, (UnstableInstance * w, u32 a, u64 b, u32 c), (a, b, c))
WASI_FORWARD_P0(fd_advise, (UnstableInstance * w, u32 a, u64 b, u64 c, u32 d), (a, b, c, d))
WASI_FORWARD_P0(fd_allocate, (UnstableInstance * w, u32 a, u64 b, u64 c), (a, b, c))
WASI_FORWARD_P0(fd_close, (UnstableInstance * w, u32 a), (a))
WASI_FORWARD_P0(fd_datasync, (UnstableInstance * w, u32 a), (a))
WASI_FORWARD_P0(fd_fdstat_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(fd_fdstat_set_flags, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(fd_fdstat_set_rights, (UnstableInstance * w, u32 a, u64 b, u64 c), (a, b, c))
WASI_FORWARD_P0(fd_filestat_get, (UnstableInstance * w, u32 a, u32 b), (a, b, Abi::kPreview0))
WASI_FORWARD_P0(fd_filestat_set_size, (UnstableInstance * w, u32 a, u64 b), (a, b))
WASI_FORWARD_P0(fd_filestat_set_times, (UnstableInstance * w, u32 a, u64 b, u64 c, u32 d),
                (a, b, c, d))
WASI_FORWARD_P0(fd_pread, (UnstableInstance * w, u32 a, u32 b, u32 c, u64 d, u32 e),
                (a, b, c, d, e))
WASI_FORWARD_P0(fd_prestat_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(fd_prestat_dir_name, (UnstableInstance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD_P0(fd_pwrite, (UnstableInstance * w, u32 a, u32 b, u32 c, u64 d, u32 e),
                (a, b, c, d, e))
WASI_FORWARD_P0(fd_read, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d), (a, b, c, d))
WASI_FORWARD_P0(fd_readdir, (UnstableInstance * w, u32 a, u32 b, u32 c, u64 d, u32 e),
                (a, b, c, d, e))
WASI_FORWARD_P0(fd_renumber, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(fd_seek, (UnstableInstance * w, u32 a, u64 b, u32 c, u32 d),
                (a, b, c, d, Abi::kPreview0))
WASI_FORWARD_P0(fd_sync, (UnstableInstance * w, u32 a), (a))
WASI_FORWARD_P0(fd_tell, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(path_create_directory, (UnstableInstance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD_P0(path_filestat_get, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e),
                (a, b, c, d, e, Abi::kPreview0))
WASI_FORWARD_P0(path_filestat_set_times,
                (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u64 e, u64 f, u32 g),
                (a, b, c, d, e, f, g))
WASI_FORWARD_P0(path_link, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f, u32 g),
                (a, b, c, d, e, f, g))
WASI_FORWARD_P0(path_open,
                (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u64 f, u64 g, u32 h,
                 u32 i),
                (a, b, c, d, e, f, g, h, i))
WASI_FORWARD_P0(path_readlink, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
                (a, b, c, d, e, f))
WASI_FORWARD_P0(path_remove_directory, (UnstableInstance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD_P0(path_rename, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
                (a, b, c, d, e, f))
WASI_FORWARD_P0(path_symlink, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e),
                (a, b, c, d, e))
WASI_FORWARD_P0(path_unlink_file, (UnstableInstance * w, u32 a, u32 b, u32 c), (a, b, c))
WASI_FORWARD_P0(poll_oneoff, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d),
                (a, b, c, d, Abi::kPreview0))
WASI_FORWARD_P0(proc_raise, (UnstableInstance * w, u32 a), (a))
WASI_FORWARD_P0(sched_yield, (UnstableInstance * w), ())
WASI_FORWARD_P0(random_get, (UnstableInstance * w, u32 a, u32 b), (a, b))
WASI_FORWARD_P0(sock_recv, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e, u32 f),
                (a, b, c, d, e, f))
WASI_FORWARD_P0(sock_send, (UnstableInstance * w, u32 a, u32 b, u32 c, u32 d, u32 e),
                (a, b, c, d, e))
WASI_FORWARD_P0(sock_shutdown, (UnstableInstance * w, u32 a, u32 b), (a, b))

extern "C" u32 Z_wasi_unstableZ_fd_write(UnstableInstance* w, u32 fd, u32 iovs, u32 n,
                                         u32 nwritten) {
  u32 r = guarded([&] { return w->context->fd_write(fd, iovs, n, nwritten); });
  if (w->context->stop_reason() != wasimoff::wasi::StopReason::kNone)
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
  return r;
}

extern "C" void Z_wasi_unstableZ_proc_exit(UnstableInstance* w, u32 code) {
  w->context->proc_exit(code);
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

// --- compile-time proof that the exports match wasi/signatures.h -------------------------------

namespace {

template <typename T>
constexpr char type_code() {
  if constexpr (std::is_same_v<T, u32>) return 'i';
  if constexpr (std::is_same_v<T, u64>) return 'I';
  return '?';
}

// `fn` has the signature that the table of `I`'s import module lists for `name`.
template <typename I, typename R, typename... A>
constexpr bool matches(R (*)(I*, A...), std::string_view name) {
  const wasimoff::wasi::Signature* found = nullptr;
  if constexpr (std::is_same_v<I, Instance>) {
    std::size_t i = wasimoff::wasi::signature_index(name);
    if (i == wasimoff::wasi::kSignatures.size()) return false;
    found = &wasimoff::wasi::kSignatures[i];
  } else {
    static_assert(std::is_same_v<I, UnstableInstance>);
    std::size_t i = wasimoff::wasi::unstable_signature_index(name);
    if (i == wasimoff::wasi::kUnstableSignatures.size()) return false;
    found = &wasimoff::wasi::kUnstableSignatures[i];
  }
  const wasimoff::wasi::Signature& s = *found;
  const char params[sizeof...(A) + 1] = {type_code<A>()..., '\0'};
  if (s.params != std::string_view(params, sizeof...(A))) return false;
  if constexpr (std::is_void_v<R>)
    return s.results.empty();
  else
    return std::is_same_v<R, u32> && s.results == "i";
}

// clang-format off (one entry per line; clang-format does not settle on these macros)
#define WASI_ALL(X)          \
  X(args_get)                \
  X(args_sizes_get)          \
  X(environ_get)             \
  X(environ_sizes_get)       \
  X(clock_res_get)           \
  X(clock_time_get)          \
  X(fd_advise)               \
  X(fd_allocate)             \
  X(fd_close)                \
  X(fd_datasync)             \
  X(fd_fdstat_get)           \
  X(fd_fdstat_set_flags)     \
  X(fd_fdstat_set_rights)    \
  X(fd_filestat_get)         \
  X(fd_filestat_set_size)    \
  X(fd_filestat_set_times)   \
  X(fd_pread)                \
  X(fd_prestat_get)          \
  X(fd_prestat_dir_name)     \
  X(fd_pwrite)               \
  X(fd_read)                 \
  X(fd_readdir)              \
  X(fd_renumber)             \
  X(fd_seek)                 \
  X(fd_sync)                 \
  X(fd_tell)                 \
  X(fd_write)                \
  X(path_create_directory)   \
  X(path_filestat_get)       \
  X(path_filestat_set_times) \
  X(path_link)               \
  X(path_open)               \
  X(path_readlink)           \
  X(path_remove_directory)   \
  X(path_rename)             \
  X(path_symlink)            \
  X(path_unlink_file)        \
  X(poll_oneoff)             \
  X(proc_exit)               \
  X(proc_raise)              \
  X(sched_yield)             \
  X(random_get)              \
  X(sock_accept)             \
  X(sock_recv)               \
  X(sock_send)               \
  X(sock_shutdown)
// clang-format on

#define WASI_CHECK(name)                                           \
  static_assert(matches(&Z_wasi_snapshot_preview1Z_##name, #name), \
                "export " #name " does not match wasi/signatures.h");
WASI_ALL(WASI_CHECK)

#define WASI_COUNT(name) +1
static_assert(0 WASI_ALL(WASI_COUNT) == wasimoff::wasi::kSignatures.size(),
              "every function of wasi/signatures.h must be exported");

// Preview 0: everything but sock_accept.
// clang-format off
#define WASI_UNSTABLE_ALL(X) \
  X(args_get)                \
  X(args_sizes_get)          \
  X(environ_get)             \
  X(environ_sizes_get)       \
  X(clock_res_get)           \
  X(clock_time_get)          \
  X(fd_advise)               \
  X(fd_allocate)             \
  X(fd_close)                \
  X(fd_datasync)             \
  X(fd_fdstat_get)           \
  X(fd_fdstat_set_flags)     \
  X(fd_fdstat_set_rights)    \
  X(fd_filestat_get)         \
  X(fd_filestat_set_size)    \
  X(fd_filestat_set_times)   \
  X(fd_pread)                \
  X(fd_prestat_get)          \
  X(fd_prestat_dir_name)     \
  X(fd_pwrite)               \
  X(fd_read)                 \
  X(fd_readdir)              \
  X(fd_renumber)             \
  X(fd_seek)                 \
  X(fd_sync)                 \
  X(fd_tell)                 \
  X(fd_write)                \
  X(path_create_directory)   \
  X(path_filestat_get)       \
  X(path_filestat_set_times) \
  X(path_link)               \
  X(path_open)               \
  X(path_readlink)           \
  X(path_remove_directory)   \
  X(path_rename)             \
  X(path_symlink)            \
  X(path_unlink_file)        \
  X(poll_oneoff)             \
  X(proc_exit)               \
  X(proc_raise)              \
  X(sched_yield)             \
  X(random_get)              \
  X(sock_recv)               \
  X(sock_send)               \
  X(sock_shutdown)
// clang-format on

#define WASI_UNSTABLE_CHECK(name)                         \
  static_assert(matches(&Z_wasi_unstableZ_##name, #name), \
                "export wasi_unstable." #name " does not match wasi/signatures.h");
WASI_UNSTABLE_ALL(WASI_UNSTABLE_CHECK)

static_assert(0 WASI_UNSTABLE_ALL(WASI_COUNT) == wasimoff::wasi::kUnstableSignatures.size(),
              "every wasi_unstable function of wasi/signatures.h must be exported");

}  // namespace
