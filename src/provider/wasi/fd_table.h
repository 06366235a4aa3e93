// The file descriptor table of one WASI instance (docs/provider-internals.md §3.4): 0–2 are stdio,
// 3 is the preopened directory "/", new descriptors take the lowest free number from 4 upward. At
// most kMaxFds descriptors exist at a time (EMFILE beyond).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "provider/memfs/node.h"
#include "provider/wasi/abi.h"

namespace wasimoff::wasi {

enum class FdKind : std::uint8_t { kStdin, kStdout, kStderr, kDirectory, kFile };

struct FdEntry {
  FdKind kind = FdKind::kFile;
  memfs::NodePtr node;  // directories and files
  std::uint64_t offset = 0;
  std::uint16_t flags = 0;  // fdflags
  std::uint64_t rights_base = 0;
  std::uint64_t rights_inheriting = 0;
  std::string preopen_name;  // "/" for the preopen, empty otherwise

  bool is_stdio() const { return kind <= FdKind::kStderr; }
  std::uint8_t filetype() const;
};

class FdTable {
 public:
  static constexpr std::uint32_t kFirstFree = 4;
  static constexpr std::uint32_t kMaxFds = 1024;

  // Sets up 0–2 and, when `root` is given, 3 as the preopen "/".
  explicit FdTable(memfs::NodePtr root);

  // nullptr when `fd` is not open.
  FdEntry* get(std::uint32_t fd);
  const FdEntry* get(std::uint32_t fd) const;

  // Stores `entry` under the lowest free number >= kFirstFree (EMFILE when full).
  Errno allocate(FdEntry entry, std::uint32_t* fd);
  Errno close(std::uint32_t fd);
  // Moves `from` onto `to` (which must be open and is closed first).
  Errno renumber(std::uint32_t from, std::uint32_t to);

  std::size_t open_count() const { return open_; }

 private:
  std::vector<std::optional<FdEntry>> slots_;
  std::size_t open_ = 0;
};

}  // namespace wasimoff::wasi
