// The in-memory filesystem a task sees as its preopened directory "/" (docs/provider-internals.md
// §1, §3.4).
//
// A tree of memfs::Node (directories and regular files only). All operations take a directory
// node and a single name component; walking paths (".", "..", the root boundary) is the WASI
// layer's job. Every byte of file data, every node and every directory entry is charged against
// the capacity given at construction; an operation that would exceed it fails with kNoSpace and
// changes nothing. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "provider/memfs/node.h"

namespace wasimoff::memfs {

enum class Errc : std::uint8_t {
  kOk = 0,
  kNotFound,      // no such entry
  kExists,        // the name is taken
  kNotDirectory,  // a directory was required
  kIsDirectory,   // a regular file was required
  kNotEmpty,      // directory still has entries
  kNoSpace,       // the capacity would be exceeded
  kInvalid,       // e.g. moving a directory into itself, a bad name
  kNameTooLong,   // a name component longer than kMaxName
};

std::string_view to_string(Errc e);

class Filesystem {
 public:
  static constexpr std::uint64_t kDefaultCapacity = 256ull << 20;
  static constexpr std::size_t kMaxName = 255;

  explicit Filesystem(std::uint64_t capacity = kDefaultCapacity);
  ~Filesystem();  // tears the tree down iteratively (no recursion on deep trees)
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  const NodePtr& root() const { return root_; }
  std::uint64_t used() const { return usage_->used; }
  std::uint64_t capacity() const { return usage_->capacity; }

  // A valid entry name: 1..kMaxName bytes, no '/', no NUL, not "." or "..".
  static Errc check_name(std::string_view name);

  // The entry `name` of `dir`, or nullptr.
  NodePtr lookup(const Node& dir, std::string_view name) const;

  // Creates an empty file / directory as `name` in `dir` (kExists if the name is taken).
  Errc create_file(Node& dir, std::string_view name, NodePtr* out = nullptr);
  Errc create_directory(Node& dir, std::string_view name, NodePtr* out = nullptr);

  // Removes a regular file (kIsDirectory for directories) / an empty directory (kNotDirectory
  // for files, kNotEmpty).
  Errc unlink_file(Node& dir, std::string_view name);
  Errc remove_directory(Node& dir, std::string_view name);

  // POSIX rename(2) semantics: replaces an existing file, or an empty directory by a directory;
  // kIsDirectory (file over directory), kNotDirectory (directory over file), kNotEmpty, kInvalid
  // when a directory would move into its own subtree. Renaming onto itself is a no-op.
  Errc rename(Node& from_dir, std::string_view from, Node& to_dir, std::string_view to);

  // File data. read() copies up to `n` bytes at `offset` and returns how many; write() extends
  // the file as needed (zero-filling a gap); resize() truncates or zero-extends.
  std::size_t read(const Node& file, std::uint64_t offset, char* out, std::size_t n) const;
  Errc write(Node& file, std::uint64_t offset, std::string_view bytes);
  Errc resize(Node& file, std::uint64_t size);

  // Adds a whole file, creating missing parent directories ("a/b/c.txt"); used to materialise a
  // rootfs archive. An existing file is replaced; a path through a file is kNotDirectory.
  Errc add_file(std::string_view relative_path, std::string data, std::int64_t mtime_ns);
  Errc add_directory(std::string_view relative_path, std::int64_t mtime_ns);

  // The current CLOCK_REALTIME in nanoseconds (all timestamps come from here).
  static std::int64_t now();

 private:
  Errc insert(Node& dir, std::string_view name, NodeKind kind, NodePtr* out);
  Errc walk_create_parents(std::string_view path, Node** dir, std::string_view* last,
                           std::int64_t mtime_ns);
  void touch_dir(Node& dir);

  std::shared_ptr<Usage> usage_;
  NodePtr root_;
};

}  // namespace wasimoff::memfs
