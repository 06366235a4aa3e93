// The state of one WASI instance and the implementation of its functions
// (docs/provider-internals.md §3.4, §3.5) over an in-memory filesystem: the 46 functions of preview
// 1 and, through the same state, the 45 of preview 0 (`wasi_unstable`). Most functions are the same
// in both; the four whose data differ (fd_seek's whence values, the filestat of fd_filestat_get and
// path_filestat_get, the subscriptions of poll_oneoff) take the Abi of the import that called them
// (wasi/abi.h).
//
// One Context serves exactly one task run: argv, environment, stdin, captured stdout/stderr, the
// fd table and the memfs tree. The C functions the generated module code imports
// (wasi/exports.cc) forward to the methods here; each method takes the raw i32/i64 arguments of
// the WebAssembly signature and returns a WASI errno. Guest memory is bound with bind_memory()
// before the module runs; every guest pointer is bounds-checked (EFAULT).
//
// Ending the run: proc_exit() and output overflow do not return to the guest. The method records
// the reason (stop_reason()), and the exported C wrapper then calls wasm_rt_trap() — that
// longjmp must not cross frames with live C++ objects, which is why it happens in the wrapper.
#pragma once

#include <wasm-rt.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "provider/memfs/filesystem.h"
#include "provider/wasi/abi.h"
#include "provider/wasi/fd_table.h"
#include "provider/wasi/guest_memory.h"
#include "provider/wasi/path_resolver.h"

namespace wasimoff::wasi {

struct ContextOptions {
  std::vector<std::string> args;  // argv verbatim, args[0] is argv[0]
  std::vector<std::string> envs;  // KEY=value, in order
  std::string stdin_data;         // followed by EOF
  // stdout + stderr together; exceeding it ends the run with StopReason::kOutputTooLarge.
  std::uint64_t output_limit = 63ull << 20;
  // CLOCK_REALTIME nanoseconds after which the run will be killed anyway: clock sleeps in
  // poll_oneoff never last beyond it.
  std::optional<std::int64_t> deadline_ns;
};

enum class StopReason : std::uint8_t { kNone, kExit, kOutputTooLarge };

class Context {
 public:
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;

  // `fs` must outlive the context; fd 3 is its root.
  Context(memfs::Filesystem& fs, ContextOptions options);

  void bind_memory(const wasm_rt_memory_t* memory) { memory_ = memory; }

  StopReason stop_reason() const { return stop_; }
  std::int32_t exit_code() const { return exit_code_; }
  const std::string& stdout_data() const { return stdout_; }
  const std::string& stderr_data() const { return stderr_; }
  std::string take_stdout() { return std::move(stdout_); }
  std::string take_stderr() { return std::move(stderr_); }
  FdTable& fds() { return fds_; }

  Errno args_get(u32 argv, u32 argv_buf);
  Errno args_sizes_get(u32 argc_out, u32 size_out);
  Errno environ_get(u32 environ, u32 environ_buf);
  Errno environ_sizes_get(u32 count_out, u32 size_out);
  Errno clock_res_get(u32 id, u32 res_out);
  Errno clock_time_get(u32 id, u64 precision, u32 time_out);
  Errno fd_advise(u32 fd, u64 offset, u64 len, u32 advice);
  Errno fd_allocate(u32 fd, u64 offset, u64 len);
  Errno fd_close(u32 fd);
  Errno fd_datasync(u32 fd);
  Errno fd_fdstat_get(u32 fd, u32 stat_out);
  Errno fd_fdstat_set_flags(u32 fd, u32 flags);
  Errno fd_fdstat_set_rights(u32 fd, u64 base, u64 inheriting);
  Errno fd_filestat_get(u32 fd, u32 buf_out, Abi abi = Abi::kPreview1);
  Errno fd_filestat_set_size(u32 fd, u64 size);
  Errno fd_filestat_set_times(u32 fd, u64 atim, u64 mtim, u32 fst_flags);
  Errno fd_pread(u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nread_out);
  Errno fd_prestat_get(u32 fd, u32 buf_out);
  Errno fd_prestat_dir_name(u32 fd, u32 path, u32 path_len);
  Errno fd_pwrite(u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nwritten_out);
  Errno fd_read(u32 fd, u32 iovs, u32 iovs_len, u32 nread_out);
  Errno fd_readdir(u32 fd, u32 buf, u32 buf_len, u64 cookie, u32 bufused_out);
  Errno fd_renumber(u32 fd, u32 to);
  Errno fd_seek(u32 fd, u64 offset, u32 whence, u32 newoffset_out, Abi abi = Abi::kPreview1);
  Errno fd_sync(u32 fd);
  Errno fd_tell(u32 fd, u32 offset_out);
  Errno fd_write(u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_out);
  Errno path_create_directory(u32 fd, u32 path, u32 path_len);
  Errno path_filestat_get(u32 fd, u32 flags, u32 path, u32 path_len, u32 buf_out,
                          Abi abi = Abi::kPreview1);
  Errno path_filestat_set_times(u32 fd, u32 flags, u32 path, u32 path_len, u64 atim, u64 mtim,
                                u32 fst_flags);
  Errno path_link(u32 old_fd, u32 old_flags, u32 old_path, u32 old_len, u32 new_fd, u32 new_path,
                  u32 new_len);
  Errno path_open(u32 fd, u32 dirflags, u32 path, u32 path_len, u32 oflags, u64 rights_base,
                  u64 rights_inheriting, u32 fdflags, u32 fd_out);
  Errno path_readlink(u32 fd, u32 path, u32 path_len, u32 buf, u32 buf_len, u32 used_out);
  Errno path_remove_directory(u32 fd, u32 path, u32 path_len);
  Errno path_rename(u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path, u32 new_len);
  Errno path_symlink(u32 old_path, u32 old_len, u32 fd, u32 new_path, u32 new_len);
  Errno path_unlink_file(u32 fd, u32 path, u32 path_len);
  Errno poll_oneoff(u32 in, u32 out, u32 nsubscriptions, u32 nevents_out, Abi abi = Abi::kPreview1);
  void proc_exit(u32 code);
  Errno proc_raise(u32 sig);
  Errno sched_yield();
  Errno random_get(u32 buf, u32 buf_len);
  Errno sock_accept(u32 fd, u32 flags, u32 fd_out);
  Errno sock_recv(u32 fd, u32 ri_data, u32 ri_data_len, u32 ri_flags, u32 ro_datalen_out,
                  u32 ro_flags_out);
  Errno sock_send(u32 fd, u32 si_data, u32 si_data_len, u32 si_flags, u32 so_datalen_out);
  Errno sock_shutdown(u32 fd, u32 how);

 private:
  struct Iovec {
    std::uint8_t* data;
    std::uint32_t len;
  };
  GuestMemory mem() const { return GuestMemory(memory_); }
  // Reads and bounds-checks an iovec array (every buffer must be inside memory).
  Errno load_iovecs(u32 iovs, u32 iovs_len, std::vector<Iovec>* out) const;
  // The path argument as a string (EFAULT when out of bounds).
  Errno load_path(u32 path, u32 path_len, std::string_view* out) const;
  // A directory descriptor for path operations (EBADF / ENOTDIR).
  Errno dir_fd(u32 fd, FdEntry** out);
  Errno resolve(u32 fd, u32 path, u32 path_len, Resolved* out);
  Errno write_filestat(u32 ptr, const FdEntry* stdio, const memfs::Node* node, Abi abi) const;
  Errno set_times(memfs::Node& node, u64 atim, u64 mtim, u32 fst_flags);
  Errno append_output(std::string& stream, const std::vector<Iovec>& iov, u64* written);
  Errno write_strings(const std::vector<std::string>& list, u32 ptrs, u32 buf) const;
  Errno write_sizes(const std::vector<std::string>& list, u32 count_out, u32 size_out) const;

  memfs::Filesystem& fs_;
  ContextOptions options_;
  PathResolver resolver_;
  FdTable fds_;
  const wasm_rt_memory_t* memory_ = nullptr;
  std::uint64_t stdin_pos_ = 0;
  std::string stdout_;
  std::string stderr_;
  StopReason stop_ = StopReason::kNone;
  std::int32_t exit_code_ = 0;
};

// errno for a memfs error code.
Errno to_errno(memfs::Errc e);

}  // namespace wasimoff::wasi
