// One inode of the in-memory filesystem: a directory or a regular file (there are no symlinks,
// devices or hard links). Nodes are shared_ptr-owned so that an open file descriptor keeps an
// unlinked file alive, as POSIX does; every node charges its memory to the filesystem's usage
// account and gives it back when it is destroyed.
//
// Nodes are mutated only through memfs::Filesystem, which keeps the accounting, link counts and
// parent pointers consistent. Not thread-safe (a worker runs one task on one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace wasimoff::memfs {

enum class NodeKind : std::uint8_t { kDirectory, kFile };

// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
struct Times {
  std::int64_t atim = 0;
  std::int64_t mtim = 0;
  std::int64_t ctim = 0;
};

// Shared between a filesystem and all of its nodes: bytes charged so far and the cap.
struct Usage {
  std::uint64_t used = 0;
  std::uint64_t capacity = 0;
  std::uint64_t next_ino = 1;
  bool try_charge(std::uint64_t bytes) {
    if (bytes > capacity - used) return false;
    used += bytes;
    return true;
  }
  void release(std::uint64_t bytes) { used -= bytes; }
};

class Node;
using NodePtr = std::shared_ptr<Node>;

class Node {
 public:
  // What one node and one directory entry cost besides file data and names; keeps a guest from
  // exhausting host memory with millions of empty files.
  static constexpr std::uint64_t kNodeCost = 64;
  static constexpr std::uint64_t kEntryCost = 32;

  using Entries = std::map<std::string, NodePtr, std::less<>>;

  Node(NodeKind kind, std::shared_ptr<Usage> usage, std::int64_t now);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeKind kind() const { return kind_; }
  bool is_directory() const { return kind_ == NodeKind::kDirectory; }
  bool is_file() const { return kind_ == NodeKind::kFile; }
  std::uint64_t ino() const { return ino_; }
  // Files: 1 while linked into a directory, 0 after unlink. Directories: 2 + subdirectories
  // while linked (the POSIX convention), 0 after removal.
  std::uint64_t nlink() const { return nlink_; }
  // Files: byte length. Directories: number of entries.
  std::uint64_t size() const { return is_file() ? data_.size() : entries_.size(); }

  const Times& times() const { return times_; }
  void set_times(const Times& t) { times_ = t; }

  // Regular files only.
  const std::string& data() const { return data_; }
  // Directories only; sorted by name (bytewise), which is also the readdir order.
  const Entries& entries() const { return entries_; }
  // Directories only: the containing directory (the root is its own parent); nullptr once the
  // directory has been removed from the tree.
  Node* parent() const { return parent_; }

 private:
  friend class Filesystem;

  NodeKind kind_;
  std::shared_ptr<Usage> usage_;
  std::uint64_t ino_;
  std::uint64_t nlink_ = 0;
  Times times_;
  std::uint64_t charged_ = 0;  // node cost + data bytes + entry costs and names (directories)
  std::string data_;
  Entries entries_;
  Node* parent_ = nullptr;
};

}  // namespace wasimoff::memfs
