// wasi::Context (wasi/context.h): construction, the helpers every group of calls shares (iovecs,
// paths, filestat, output capture), argv and environment, and the calls of the process
// (proc_exit, proc_raise, sched_yield) and sockets. The descriptor calls are in context_fd.cc,
// the path calls in context_path.cc, clocks, random_get and poll_oneoff in context_clock.cc.
#include "provider/wasi/context.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>

#include "provider/wasi/context_helpers.h"

namespace wasimoff::wasi {

using namespace detail;

Errno to_errno(memfs::Errc e) {
  switch (e) {
    case memfs::Errc::kOk:
      return err::kSuccess;
    case memfs::Errc::kNotFound:
      return err::kNoent;
    case memfs::Errc::kExists:
      return err::kExist;
    case memfs::Errc::kNotDirectory:
      return err::kNotdir;
    case memfs::Errc::kIsDirectory:
      return err::kIsdir;
    case memfs::Errc::kNotEmpty:
      return err::kNotempty;
    case memfs::Errc::kNoSpace:
      return err::kNospc;
    case memfs::Errc::kInvalid:
      return err::kInval;
    case memfs::Errc::kNameTooLong:
      return err::kNametoolong;
  }
  return err::kIo;
}

Context::Context(memfs::Filesystem& fs, ContextOptions options)
    : fs_(fs), options_(std::move(options)), resolver_(fs), fds_(fs.root()) {}

// --- helpers ------------------------------------------------------------------------------------

Errno Context::load_iovecs(u32 iovs, u32 iovs_len, std::vector<Iovec>* out) const {
  GuestMemory m = mem();
  if (!m.in_bounds(iovs, static_cast<u64>(iovs_len) * layout::kIovecSize)) return err::kFault;
  out->clear();
  out->reserve(std::min<u32>(iovs_len, 1024));
  for (u32 i = 0; i < iovs_len; ++i) {
    u32 buf = 0, len = 0;
    m.load(iovs + i * layout::kIovecSize, &buf);
    m.load(iovs + i * layout::kIovecSize + 4, &len);
    std::uint8_t* p = m.span(buf, len);
    if (!p) return err::kFault;
    out->push_back({p, len});
  }
  return err::kSuccess;
}

Errno Context::load_path(u32 path, u32 path_len, std::string_view* out) const {
  bool ok = false;
  *out = mem().view(path, path_len, &ok);
  return ok ? err::kSuccess : err::kFault;
}

Errno Context::dir_fd(u32 fd, FdEntry** out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->kind != FdKind::kDirectory) return err::kNotdir;
  *out = e;
  return err::kSuccess;
}

Errno Context::resolve(u32 fd, u32 path, u32 path_len, Resolved* out) {
  FdEntry* dir = nullptr;
  if (Errno e = dir_fd(fd, &dir); e != err::kSuccess) return e;
  std::string_view p;
  if (Errno e = load_path(path, path_len, &p); e != err::kSuccess) return e;
  *out = resolver_.resolve(dir->node, p);
  return out->error;
}

Errno Context::write_filestat(u32 ptr, const FdEntry* stdio, const memfs::Node* node,
                              Abi abi) const {
  // Preview 1: nlink u64 @24, size @32, atim @40, mtim @48, ctim @56 (64 bytes). Preview 0:
  // nlink u32 @20, then everything 8 bytes earlier (56 bytes). dev, ino, filetype are the same.
  const bool p0 = abi == Abi::kPreview0;
  const u32 size = p0 ? preview0::layout::kFilestatSize : layout::kFilestatSize;
  const u32 shift = p0 ? 8 : 0;
  std::uint8_t* p = mem().span(ptr, size);
  if (!p) return err::kFault;
  std::memset(p, 0, size);
  auto put_nlink = [&](u64 n) {
    if (p0)
      put_u32(p + 20, static_cast<u32>(std::min<u64>(n, UINT32_MAX)));
    else
      put_u64(p + 24, n);
  };
  if (stdio) {
    p[16] = stdio->filetype();
    put_nlink(1);
    return err::kSuccess;
  }
  put_u64(p + 0, 1);  // dev: one device for the whole in-memory tree
  put_u64(p + 8, node->ino());
  p[16] = node->is_directory() ? filetype::kDirectory : filetype::kRegularFile;
  put_nlink(node->nlink());
  put_u64(p + 32 - shift, node->is_file() ? node->size() : 0);
  put_u64(p + 40 - shift, static_cast<u64>(node->times().atim));
  put_u64(p + 48 - shift, static_cast<u64>(node->times().mtim));
  put_u64(p + 56 - shift, static_cast<u64>(node->times().ctim));
  return err::kSuccess;
}

Errno Context::set_times(memfs::Node& node, u64 atim, u64 mtim, u32 fst_flags) {
  if (fst_flags & ~0xfu) return err::kInval;
  if ((fst_flags & fstflags::kAtim) && (fst_flags & fstflags::kAtimNow)) return err::kInval;
  if ((fst_flags & fstflags::kMtim) && (fst_flags & fstflags::kMtimNow)) return err::kInval;
  std::int64_t now = memfs::Filesystem::now();
  memfs::Times t = node.times();
  if (fst_flags & fstflags::kAtim) t.atim = static_cast<std::int64_t>(atim);
  if (fst_flags & fstflags::kAtimNow) t.atim = now;
  if (fst_flags & fstflags::kMtim) t.mtim = static_cast<std::int64_t>(mtim);
  if (fst_flags & fstflags::kMtimNow) t.mtim = now;
  t.ctim = now;
  node.set_times(t);
  return err::kSuccess;
}

Errno Context::append_output(std::string& stream, const std::vector<Iovec>& iov, u64* written) {
  u64 total = 0;
  for (const Iovec& v : iov) total += v.len;
  u64 used = stdout_.size() + stderr_.size();
  if (total > options_.output_limit || used > options_.output_limit - total) {
    stop_ = StopReason::kOutputTooLarge;
    return err::kFbig;
  }
  for (const Iovec& v : iov) stream.append(reinterpret_cast<const char*>(v.data), v.len);
  *written = total;
  return err::kSuccess;
}

Errno Context::write_strings(const std::vector<std::string>& list, u32 ptrs, u32 buf) const {
  GuestMemory m = mem();
  if (!m.in_bounds(ptrs, static_cast<u64>(list.size()) * 4)) return err::kFault;
  u64 offset = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    u64 at = static_cast<u64>(buf) + offset;
    if (at > kU32Max) return err::kFault;
    std::uint8_t* p = m.span(static_cast<u32>(at), list[i].size() + 1);
    if (!p) return err::kFault;
    std::memcpy(p, list[i].c_str(), list[i].size() + 1);  // with the terminating NUL
    m.store<u32>(ptrs + static_cast<u32>(i * 4), static_cast<u32>(at));
    offset += list[i].size() + 1;
  }
  return err::kSuccess;
}

Errno Context::write_sizes(const std::vector<std::string>& list, u32 count_out,
                           u32 size_out) const {
  u64 size = 0;
  for (const std::string& s : list) size += s.size() + 1;
  if (size > kU32Max || list.size() > kU32Max) return err::kOverflow;
  GuestMemory m = mem();
  if (!m.in_bounds(count_out, 4) || !m.in_bounds(size_out, 4)) return err::kFault;
  m.store<u32>(count_out, static_cast<u32>(list.size()));
  m.store<u32>(size_out, static_cast<u32>(size));
  return err::kSuccess;
}

// --- args, environment -------------------------------------------------------------------------

Errno Context::args_get(u32 argv, u32 argv_buf) {
  return write_strings(options_.args, argv, argv_buf);
}

Errno Context::args_sizes_get(u32 argc_out, u32 size_out) {
  return write_sizes(options_.args, argc_out, size_out);
}

Errno Context::environ_get(u32 environ, u32 environ_buf) {
  return write_strings(options_.envs, environ, environ_buf);
}

Errno Context::environ_sizes_get(u32 count_out, u32 size_out) {
  return write_sizes(options_.envs, count_out, size_out);
}

// --- process, sockets ---------------------------------------------------------------------------

void Context::proc_exit(u32 code) {
  exit_code_ = static_cast<std::int32_t>(code);
  stop_ = StopReason::kExit;
}

Errno Context::proc_raise(u32) {
  return err::kNosys;
}

Errno Context::sched_yield() {
  ::sched_yield();
  return err::kSuccess;
}

Errno Context::sock_accept(u32, u32, u32) {
  return err::kNotsup;
}
Errno Context::sock_recv(u32, u32, u32, u32, u32, u32) {
  return err::kNotsup;
}
Errno Context::sock_send(u32, u32, u32, u32, u32) {
  return err::kNotsup;
}
Errno Context::sock_shutdown(u32, u32) {
  return err::kNotsup;
}

}  // namespace wasimoff::wasi
