#include "provider/wasi/fd_table.h"

namespace wasimoff::wasi {

std::uint8_t FdEntry::filetype() const {
  switch (kind) {
    case FdKind::kStdin:
    case FdKind::kStdout:
    case FdKind::kStderr:
      return filetype::kCharacterDevice;
    case FdKind::kDirectory:
      return filetype::kDirectory;
    case FdKind::kFile:
      return filetype::kRegularFile;
  }
  return filetype::kUnknown;
}

FdTable::FdTable(memfs::NodePtr root) {
  slots_.resize(kFirstFree);
  slots_[0] = FdEntry{FdKind::kStdin, nullptr, 0, 0, rights::kStdio, 0, {}};
  slots_[1] = FdEntry{FdKind::kStdout, nullptr, 0, fdflags::kAppend, rights::kStdio, 0, {}};
  slots_[2] = FdEntry{FdKind::kStderr, nullptr, 0, fdflags::kAppend, rights::kStdio, 0, {}};
  open_ = 3;
  if (root) {
    slots_[3] = FdEntry{FdKind::kDirectory,
                        std::move(root),
                        0,
                        0,
                        rights::kDirectory,
                        rights::kDirectoryInheriting,
                        "/"};
    ++open_;
  }
}

FdEntry* FdTable::get(std::uint32_t fd) {
  if (fd >= slots_.size() || !slots_[fd]) return nullptr;
  return &*slots_[fd];
}

const FdEntry* FdTable::get(std::uint32_t fd) const {
  if (fd >= slots_.size() || !slots_[fd]) return nullptr;
  return &*slots_[fd];
}

Errno FdTable::allocate(FdEntry entry, std::uint32_t* fd) {
  if (open_ >= kMaxFds) return err::kMfile;
  std::uint32_t i = kFirstFree;
  while (i < slots_.size() && slots_[i]) ++i;
  if (i == slots_.size()) slots_.emplace_back();
  slots_[i] = std::move(entry);
  ++open_;
  *fd = i;
  return err::kSuccess;
}

Errno FdTable::close(std::uint32_t fd) {
  if (!get(fd)) return err::kBadf;
  slots_[fd].reset();
  --open_;
  while (slots_.size() > kFirstFree && !slots_.back()) slots_.pop_back();
  return err::kSuccess;
}

Errno FdTable::renumber(std::uint32_t from, std::uint32_t to) {
  if (!get(from) || !get(to)) return err::kBadf;
  if (from == to) return err::kSuccess;
  slots_[to] = std::move(slots_[from]);
  slots_[from].reset();
  --open_;
  while (slots_.size() > kFirstFree && !slots_.back()) slots_.pop_back();
  return err::kSuccess;
}

}  // namespace wasimoff::wasi
