// wasi::Context (wasi/context.h): the calls on a descriptor (fd_*): stdio, files and directories
// of the in-memory filesystem, seeking, reading and writing, fd_readdir and the preopen.
#include <algorithm>
#include <cerrno>

#include "provider/wasi/context.h"
#include "provider/wasi/context_helpers.h"

namespace wasimoff::wasi {

using namespace detail;

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

}  // namespace wasimoff::wasi
