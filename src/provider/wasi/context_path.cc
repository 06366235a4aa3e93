// wasi::Context (wasi/context.h): the calls on a path relative to a directory descriptor
// (path_*), resolved by the PathResolver, never above that directory.
#include <algorithm>
#include <cerrno>

#include "provider/wasi/context.h"
#include "provider/wasi/context_helpers.h"

namespace wasimoff::wasi {

using namespace detail;

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

}  // namespace wasimoff::wasi
