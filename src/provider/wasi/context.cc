#include "provider/wasi/context.h"

#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace wasimoff::wasi {

namespace {

constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::optional<clockid_t> host_clock(std::uint32_t id) {
  switch (id) {
    case clockid::kRealtime:
      return CLOCK_REALTIME;
    case clockid::kMonotonic:
      return CLOCK_MONOTONIC;
    case clockid::kProcessCputime:
      return CLOCK_PROCESS_CPUTIME_ID;
    case clockid::kThreadCputime:
      return CLOCK_THREAD_CPUTIME_ID;
  }
  return std::nullopt;
}

// The last path component ignoring trailing slashes ("a/b/.." -> "..").
std::string_view last_component(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void put_u64(std::uint8_t* p, std::uint64_t v) {
  std::memcpy(p, &v, 8);
}
void put_u32(std::uint8_t* p, std::uint32_t v) {
  std::memcpy(p, &v, 4);
}
void put_u16(std::uint8_t* p, std::uint16_t v) {
  std::memcpy(p, &v, 2);
}

}  // namespace

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

// --- args, environment, clocks, random ----------------------------------------------------------

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

Errno Context::clock_res_get(u32 id, u32 res_out) {
  std::optional<clockid_t> c = host_clock(id);
  if (!c) return err::kInval;
  timespec ts{};
  clock_getres(*c, &ts);
  u64 res = static_cast<u64>(ts.tv_sec) * 1'000'000'000 + static_cast<u64>(ts.tv_nsec);
  return mem().store<u64>(res_out, res) ? err::kSuccess : err::kFault;
}

Errno Context::clock_time_get(u32 id, u64 /*precision*/, u32 time_out) {
  std::optional<clockid_t> c = host_clock(id);
  if (!c) return err::kInval;
  return mem().store<u64>(time_out, static_cast<u64>(clock_ns(*c))) ? err::kSuccess : err::kFault;
}

Errno Context::random_get(u32 buf, u32 buf_len) {
  std::uint8_t* p = mem().span(buf, buf_len);
  if (!p) return err::kFault;
  std::size_t done = 0;
  while (done < buf_len) {
    ssize_t r = getrandom(p + done, buf_len - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return err::kIo;
    }
    done += static_cast<std::size_t>(r);
  }
  return err::kSuccess;
}

// --- descriptors --------------------------------------------------------------------------------

Errno Context::fd_advise(u32 fd, u64, u64, u32 advice) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (advice > kAdviceMax) return err::kInval;
  if (e->is_stdio()) return err::kSpipe;
  return err::kSuccess;
}

Errno Context::fd_allocate(u32 fd, u64 offset, u64 len) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kSpipe;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  if (len > std::numeric_limits<std::int64_t>::max() - offset) return err::kFbig;
  if (offset + len <= e->node->size()) return err::kSuccess;
  return to_errno(fs_.resize(*e->node, offset + len));
}

Errno Context::fd_close(u32 fd) {
  return fds_.close(fd);
}

Errno Context::fd_datasync(u32 fd) {
  return fds_.get(fd) ? err::kSuccess : err::kBadf;
}

Errno Context::fd_sync(u32 fd) {
  return fds_.get(fd) ? err::kSuccess : err::kBadf;
}

Errno Context::fd_fdstat_get(u32 fd, u32 stat_out) {
  const FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  std::uint8_t* p = mem().span(stat_out, layout::kFdstatSize);
  if (!p) return err::kFault;
  std::memset(p, 0, layout::kFdstatSize);
  p[0] = e->filetype();
  put_u16(p + 2, e->flags);
  put_u64(p + 8, e->rights_base);
  put_u64(p + 16, e->rights_inheriting);
  return err::kSuccess;
}

Errno Context::fd_fdstat_set_flags(u32 fd, u32 flags) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (flags & ~static_cast<u32>(fdflags::kAppend | fdflags::kNonblock)) return err::kNotsup;
  e->flags = static_cast<std::uint16_t>(flags);
  return err::kSuccess;
}

Errno Context::fd_fdstat_set_rights(u32 fd, u64 base, u64 inheriting) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if ((base & ~e->rights_base) || (inheriting & ~e->rights_inheriting)) return err::kNotcapable;
  e->rights_base = base;
  e->rights_inheriting = inheriting;
  return err::kSuccess;
}

Errno Context::fd_filestat_get(u32 fd, u32 buf_out, Abi abi) {
  const FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  return e->is_stdio() ? write_filestat(buf_out, e, nullptr, abi)
                       : write_filestat(buf_out, nullptr, e->node.get(), abi);
}

Errno Context::fd_filestat_set_size(u32 fd, u64 size) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kInval;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  return to_errno(fs_.resize(*e->node, size));
}

Errno Context::fd_filestat_set_times(u32 fd, u64 atim, u64 mtim, u32 fst_flags) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return (fst_flags & ~0xfu) ? err::kInval : err::kSuccess;
  return set_times(*e->node, atim, mtim, fst_flags);
}

Errno Context::fd_pread(u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nread_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kSpipe;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  std::vector<Iovec> iov;
  if (Errno r = load_iovecs(iovs, iovs_len, &iov); r != err::kSuccess) return r;
  if (!mem().in_bounds(nread_out, 4)) return err::kFault;
  u64 total = 0;
  for (const Iovec& v : iov) {
    std::size_t n = fs_.read(*e->node, offset, reinterpret_cast<char*>(v.data), v.len);
    offset += n;
    total += n;
    if (n < v.len || total >= kU32Max) break;
  }
  mem().store<u32>(nread_out, static_cast<u32>(std::min(total, kU32Max)));
  return err::kSuccess;
}

Errno Context::fd_pwrite(u32 fd, u32 iovs, u32 iovs_len, u64 offset, u32 nwritten_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kSpipe;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  std::vector<Iovec> iov;
  if (Errno r = load_iovecs(iovs, iovs_len, &iov); r != err::kSuccess) return r;
  if (!mem().in_bounds(nwritten_out, 4)) return err::kFault;
  u64 total = 0;
  for (const Iovec& v : iov) {
    if (total + v.len > kU32Max) break;
    memfs::Errc r =
        fs_.write(*e->node, offset, std::string_view(reinterpret_cast<const char*>(v.data), v.len));
    if (r != memfs::Errc::kOk) {
      if (total == 0) return to_errno(r);
      break;
    }
    offset += v.len;
    total += v.len;
  }
  mem().store<u32>(nwritten_out, static_cast<u32>(total));
  return err::kSuccess;
}

Errno Context::fd_prestat_get(u32 fd, u32 buf_out) {
  const FdEntry* e = fds_.get(fd);
  if (!e || e->preopen_name.empty()) return err::kBadf;
  std::uint8_t* p = mem().span(buf_out, layout::kPrestatSize);
  if (!p) return err::kFault;
  std::memset(p, 0, layout::kPrestatSize);
  p[0] = kPreopentypeDir;
  put_u32(p + 4, static_cast<u32>(e->preopen_name.size()));
  return err::kSuccess;
}

Errno Context::fd_prestat_dir_name(u32 fd, u32 path, u32 path_len) {
  const FdEntry* e = fds_.get(fd);
  if (!e || e->preopen_name.empty()) return err::kBadf;
  if (path_len < e->preopen_name.size()) return err::kNametoolong;
  return mem().write_bytes(path, e->preopen_name) ? err::kSuccess : err::kFault;
}

Errno Context::fd_read(u32 fd, u32 iovs, u32 iovs_len, u32 nread_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->kind == FdKind::kStdout || e->kind == FdKind::kStderr) return err::kBadf;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  std::vector<Iovec> iov;
  if (Errno r = load_iovecs(iovs, iovs_len, &iov); r != err::kSuccess) return r;
  if (!mem().in_bounds(nread_out, 4)) return err::kFault;
  u64 total = 0;
  for (const Iovec& v : iov) {
    std::size_t n = 0;
    if (e->kind == FdKind::kStdin) {
      const std::string& in = options_.stdin_data;
      n = std::min<u64>(v.len, in.size() - std::min<u64>(stdin_pos_, in.size()));
      if (n) std::memcpy(v.data, in.data() + stdin_pos_, n);
      stdin_pos_ += n;
    } else {
      n = fs_.read(*e->node, e->offset, reinterpret_cast<char*>(v.data), v.len);
      e->offset += n;
    }
    total += n;
    if (n < v.len || total >= kU32Max) break;
  }
  mem().store<u32>(nread_out, static_cast<u32>(std::min(total, kU32Max)));
  return err::kSuccess;
}

Errno Context::fd_write(u32 fd, u32 iovs, u32 iovs_len, u32 nwritten_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->kind == FdKind::kStdin) return err::kBadf;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  std::vector<Iovec> iov;
  if (Errno r = load_iovecs(iovs, iovs_len, &iov); r != err::kSuccess) return r;
  if (!mem().in_bounds(nwritten_out, 4)) return err::kFault;
  u64 total = 0;
  if (e->kind == FdKind::kStdout || e->kind == FdKind::kStderr) {
    Errno r = append_output(e->kind == FdKind::kStdout ? stdout_ : stderr_, iov, &total);
    if (r != err::kSuccess) return r;
    if (total > kU32Max) total = kU32Max;  // all bytes were taken; the count saturates
  } else {
    u64 offset = (e->flags & fdflags::kAppend) ? e->node->size() : e->offset;
    for (const Iovec& v : iov) {
      if (total + v.len > kU32Max) break;
      memfs::Errc r = fs_.write(*e->node, offset,
                                std::string_view(reinterpret_cast<const char*>(v.data), v.len));
      if (r != memfs::Errc::kOk) {
        if (total == 0) return to_errno(r);
        break;
      }
      offset += v.len;
      total += v.len;
    }
    e->offset = offset;
  }
  mem().store<u32>(nwritten_out, static_cast<u32>(total));
  return err::kSuccess;
}

Errno Context::fd_readdir(u32 fd, u32 buf, u32 buf_len, u64 cookie, u32 bufused_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->kind != FdKind::kDirectory) return err::kNotdir;
  GuestMemory m = mem();
  std::uint8_t* out = m.span(buf, buf_len);
  if (!out || !m.in_bounds(bufused_out, 4)) return err::kFault;
  const memfs::Node::Entries& entries = e->node->entries();
  u32 used = 0;
  if (cookie < entries.size()) {
    auto it = entries.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(cookie));
    for (u64 index = cookie; it != entries.end() && used < buf_len; ++it, ++index) {
      std::uint8_t header[layout::kDirentSize] = {};
      put_u64(header + 0, index + 1);  // d_next: the cookie of the following entry
      put_u64(header + 8, it->second->ino());
      put_u32(header + 16, static_cast<u32>(it->first.size()));
      header[20] = it->second->is_directory() ? filetype::kDirectory : filetype::kRegularFile;
      // Header then name; the last entry is cut off when the buffer ends (bufused == buf_len
      // tells the caller to grow its buffer and call again).
      u32 n = std::min<u32>(layout::kDirentSize, buf_len - used);
      std::memcpy(out + used, header, n);
      used += n;
      u32 name_n = std::min<u64>(it->first.size(), buf_len - used);
      std::memcpy(out + used, it->first.data(), name_n);
      used += name_n;
    }
  }
  m.store<u32>(bufused_out, used);
  return err::kSuccess;
}

Errno Context::fd_renumber(u32 fd, u32 to) {
  return fds_.renumber(fd, to);
}

Errno Context::fd_seek(u32 fd, u64 offset, u32 whence_arg, u32 newoffset_out, Abi abi) {
  if (abi == Abi::kPreview0) {
    // Preview 0 numbers whence cur, end, set; anything else stays invalid.
    switch (whence_arg) {
      case preview0::whence::kCur:
        whence_arg = whence::kCur;
        break;
      case preview0::whence::kEnd:
        whence_arg = whence::kEnd;
        break;
      case preview0::whence::kSet:
        whence_arg = whence::kSet;
        break;
      default:
        whence_arg = UINT32_MAX;
        break;
    }
  }
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kSpipe;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  if (!mem().in_bounds(newoffset_out, 8)) return err::kFault;
  std::int64_t base;
  switch (whence_arg) {
    case whence::kSet:
      base = 0;
      break;
    case whence::kCur:
      base = static_cast<std::int64_t>(e->offset);
      break;
    case whence::kEnd:
      base = static_cast<std::int64_t>(e->node->size());
      break;
    default:
      return err::kInval;
  }
  std::int64_t delta = static_cast<std::int64_t>(offset);
  std::int64_t target;
  if (__builtin_add_overflow(base, delta, &target) || target < 0) return err::kInval;
  e->offset = static_cast<u64>(target);
  mem().store<u64>(newoffset_out, e->offset);
  return err::kSuccess;
}

Errno Context::fd_tell(u32 fd, u32 offset_out) {
  FdEntry* e = fds_.get(fd);
  if (!e) return err::kBadf;
  if (e->is_stdio()) return err::kSpipe;
  if (e->kind == FdKind::kDirectory) return err::kIsdir;
  return mem().store<u64>(offset_out, e->offset) ? err::kSuccess : err::kFault;
}

// --- paths --------------------------------------------------------------------------------------

Errno Context::path_create_directory(u32 fd, u32 path, u32 path_len) {
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  if (r.special || r.node) return err::kExist;
  return to_errno(fs_.create_directory(*r.parent, r.name));
}

Errno Context::path_filestat_get(u32 fd, u32 /*flags*/, u32 path, u32 path_len, u32 buf_out,
                                 Abi abi) {
  u32 size = abi == Abi::kPreview0 ? preview0::layout::kFilestatSize : layout::kFilestatSize;
  if (!mem().in_bounds(buf_out, size)) return err::kFault;
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  if (!r.node) return err::kNoent;
  return write_filestat(buf_out, nullptr, r.node.get(), abi);
}

Errno Context::path_filestat_set_times(u32 fd, u32 /*flags*/, u32 path, u32 path_len, u64 atim,
                                       u64 mtim, u32 fst_flags) {
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  if (!r.node) return err::kNoent;
  return set_times(*r.node, atim, mtim, fst_flags);
}

Errno Context::path_link(u32, u32, u32, u32, u32, u32, u32) {
  return err::kNotsup;  // hard links are optional (docs/provider-internals.md §3.5)
}

Errno Context::path_open(u32 fd, u32 /*dirflags*/, u32 path, u32 path_len, u32 oflags_arg,
                         u64 rights_base, u64 /*rights_inheriting*/, u32 fdflags_arg, u32 fd_out) {
  if (!mem().in_bounds(fd_out, 4)) return err::kFault;
  if (oflags_arg & ~0xfu) return err::kInval;
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  memfs::NodePtr node = r.node;
  if (!node) {
    if (!(oflags_arg & oflags::kCreat)) return err::kNoent;
    if (oflags_arg & oflags::kDirectory) return err::kInval;
    if (r.trailing_slash) return err::kIsdir;
    if (Errno e = to_errno(fs_.create_file(*r.parent, r.name, &node)); e != err::kSuccess) return e;
  } else {
    if ((oflags_arg & oflags::kCreat) && (oflags_arg & oflags::kExcl)) return err::kExist;
    if ((oflags_arg & oflags::kDirectory) && !node->is_directory()) return err::kNotdir;
    if (node->is_directory()) {
      if ((oflags_arg & oflags::kTrunc) || (rights_base & rights::kFdWrite)) return err::kIsdir;
    } else if (oflags_arg & oflags::kTrunc) {
      if (Errno e = to_errno(fs_.resize(*node, 0)); e != err::kSuccess) return e;
    }
  }
  FdEntry entry;
  if (node->is_directory()) {
    entry.kind = FdKind::kDirectory;
    entry.rights_base = rights::kDirectory;
    entry.rights_inheriting = rights::kDirectoryInheriting;
  } else {
    entry.kind = FdKind::kFile;
    entry.rights_base = rights::kRegularFile;
    entry.rights_inheriting = 0;
  }
  entry.node = std::move(node);
  // Sync flags mean nothing in memory; APPEND and NONBLOCK are kept for fdstat.
  entry.flags = static_cast<std::uint16_t>(fdflags_arg & (fdflags::kAppend | fdflags::kNonblock));
  u32 new_fd = 0;
  if (Errno e = fds_.allocate(std::move(entry), &new_fd); e != err::kSuccess) return e;
  mem().store<u32>(fd_out, new_fd);
  return err::kSuccess;
}

Errno Context::path_readlink(u32 fd, u32 path, u32 path_len, u32 buf, u32 buf_len, u32 used_out) {
  if (!mem().in_bounds(buf, buf_len) || !mem().in_bounds(used_out, 4)) return err::kFault;
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  return r.node ? err::kInval : err::kNoent;  // nothing is ever a symlink
}

Errno Context::path_remove_directory(u32 fd, u32 path, u32 path_len) {
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  if (r.special) {
    std::string_view p;
    load_path(path, path_len, &p);
    return last_component(p) == ".." ? err::kNotempty : err::kInval;
  }
  if (!r.node) return err::kNoent;
  return to_errno(fs_.remove_directory(*r.parent, r.name));
}

Errno Context::path_rename(u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path,
                           u32 new_len) {
  Resolved from, to;
  if (Errno e = resolve(fd, old_path, old_len, &from); e != err::kSuccess) return e;
  if (Errno e = resolve(new_fd, new_path, new_len, &to); e != err::kSuccess) return e;
  if (from.special || to.special) return err::kInval;
  if (!from.node) return err::kNoent;
  if (from.node->is_file() && (from.trailing_slash || to.trailing_slash)) return err::kNotdir;
  return to_errno(fs_.rename(*from.parent, from.name, *to.parent, to.name));
}

Errno Context::path_symlink(u32, u32, u32, u32, u32) {
  return err::kPerm;  // symlinks are never created
}

Errno Context::path_unlink_file(u32 fd, u32 path, u32 path_len) {
  Resolved r;
  if (Errno e = resolve(fd, path, path_len, &r); e != err::kSuccess) return e;
  if (r.special) return err::kIsdir;
  if (!r.node) return err::kNoent;
  return to_errno(fs_.unlink_file(*r.parent, r.name));
}

// --- poll, process, sockets ---------------------------------------------------------------------

Errno Context::poll_oneoff(u32 in, u32 out, u32 nsubscriptions, u32 nevents_out, Abi abi) {
  if (nsubscriptions == 0) return err::kInval;
  // Preview 0's clock subscription starts with an `identifier` u64 (ignored, as in every
  // implementation), so its fields sit 8 bytes later and a subscription is 56 bytes, not 48.
  // The fd_readwrite variant and the event layout are the same in both.
  const bool p0 = abi == Abi::kPreview0;
  const std::size_t sub_size = p0 ? preview0::layout::kSubscriptionSize : layout::kSubscriptionSize;
  const std::size_t clock_at = p0 ? 24 : 16;
  GuestMemory m = mem();
  const std::uint8_t* subs = m.span(in, static_cast<u64>(nsubscriptions) * sub_size);
  std::uint8_t* events = m.span(out, static_cast<u64>(nsubscriptions) * layout::kEventSize);
  if (!subs || !events || !m.in_bounds(nevents_out, 4)) return err::kFault;

  struct Event {
    u64 userdata;
    Errno error;
    std::uint8_t type;
    u64 nbytes;
  };
  struct Timer {
    u64 userdata;
    std::int64_t mono_target;  // CLOCK_MONOTONIC ns
    Errno error;
  };
  std::vector<Event> ready;
  std::vector<Timer> timers;
  std::int64_t now_mono = clock_ns(CLOCK_MONOTONIC);
  std::int64_t now_real = clock_ns(CLOCK_REALTIME);

  for (u32 i = 0; i < nsubscriptions; ++i) {
    // Copy out first: `in` and `out` may overlap.
    std::uint8_t s[preview0::layout::kSubscriptionSize];
    static_assert(preview0::layout::kSubscriptionSize >= layout::kSubscriptionSize);
    std::memcpy(s, subs + static_cast<std::size_t>(i) * sub_size, sub_size);
    u64 userdata;
    std::memcpy(&userdata, s, 8);
    std::uint8_t tag = s[8];
    if (tag == eventtype::kClock) {
      u32 id;
      u64 timeout;
      std::uint16_t flags;
      std::memcpy(&id, s + clock_at, 4);
      std::memcpy(&timeout, s + clock_at + 8, 8);
      std::memcpy(&flags, s + clock_at + 24, 2);
      if (id != clockid::kRealtime && id != clockid::kMonotonic) {
        timers.push_back({userdata, now_mono, err::kInval});
        continue;
      }
      std::int64_t now = id == clockid::kRealtime ? now_real : now_mono;
      std::int64_t t = static_cast<std::int64_t>(std::min<u64>(timeout, INT64_MAX / 2));
      std::int64_t remaining = (flags & kSubclockAbstime) ? t - now : t;
      timers.push_back({userdata, now_mono + std::max<std::int64_t>(0, remaining), err::kSuccess});
    } else if (tag == eventtype::kFdRead || tag == eventtype::kFdWrite) {
      u32 fd;
      std::memcpy(&fd, s + 16, 4);
      const FdEntry* e = fds_.get(fd);
      Event ev{userdata, e ? err::kSuccess : err::kBadf, tag, 0};
      if (e && tag == eventtype::kFdRead) {
        if (e->kind == FdKind::kStdin)
          ev.nbytes =
              options_.stdin_data.size() - std::min<u64>(stdin_pos_, options_.stdin_data.size());
        else if (e->kind == FdKind::kFile && e->offset < e->node->size())
          ev.nbytes = e->node->size() - e->offset;
      }
      ready.push_back(ev);
    } else {
      return err::kInval;
    }
  }

  if (ready.empty()) {
    // Nothing is ready: sleep until the earliest timer (never past the task deadline; the
    // supervisor kills the run at that point anyway).
    std::int64_t target = INT64_MAX;
    for (const Timer& t : timers) target = std::min(target, t.mono_target);
    if (options_.deadline_ns) {
      std::int64_t deadline_mono =
          now_mono + std::max<std::int64_t>(0, *options_.deadline_ns - now_real);
      target = std::min(target, deadline_mono);
    }
    timespec ts{static_cast<time_t>(target / 1'000'000'000),
                static_cast<long>(target % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    now_mono = clock_ns(CLOCK_MONOTONIC);
    // Report at least the earliest timer, plus every other one that has expired.
    std::int64_t earliest = INT64_MAX;
    for (const Timer& t : timers) earliest = std::min(earliest, t.mono_target);
    for (const Timer& t : timers)
      if (t.mono_target <= now_mono || t.mono_target == earliest)
        ready.push_back({t.userdata, t.error, eventtype::kClock, 0});
  } else {
    for (const Timer& t : timers)
      if (t.mono_target <= now_mono) ready.push_back({t.userdata, t.error, eventtype::kClock, 0});
  }

  for (std::size_t i = 0; i < ready.size(); ++i) {
    std::uint8_t* p = events + i * layout::kEventSize;
    std::memset(p, 0, layout::kEventSize);
    put_u64(p + 0, ready[i].userdata);
    put_u16(p + 8, ready[i].error);
    p[10] = ready[i].type;
    put_u64(p + 16, ready[i].nbytes);
  }
  m.store<u32>(nevents_out, static_cast<u32>(ready.size()));
  return err::kSuccess;
}

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
