// Resolution of guest paths relative to a directory descriptor (docs/provider-internals.md §3.4).
//
// Rules (capability semantics, as wasmtime and Node's uvwasi implement them):
//  * paths are relative; an absolute path is ENOTCAPABLE (wasi-libc turns "/x" into "x"
//    relative to the preopen before calling, so well-behaved guests never pass one);
//  * "." and ".." are resolved inside the tree, one component at a time; ".." may never climb
//    above the directory the descriptor refers to (ENOTCAPABLE) — for fd 3 that is the root;
//  * every intermediate component must exist and be a directory (ENOENT / ENOTDIR);
//  * empty components ("a//b") are ignored; a trailing '/' requires a directory;
//  * limits: ENAMETOOLONG for paths over kMaxPath bytes or components over 255 bytes; EINVAL for
//    NUL bytes.
// There are no symlinks, so lookup flags are irrelevant.
#pragma once

#include <string>
#include <string_view>

#include "provider/memfs/filesystem.h"
#include "provider/wasi/abi.h"

namespace wasimoff::wasi {

struct Resolved {
  Errno error = err::kSuccess;
  memfs::NodePtr parent;  // directory holding the last component
  std::string name;       // last component; empty when the path ends in "." or ".."
  memfs::NodePtr node;    // what the path names, or nullptr when the last component is missing
  bool trailing_slash = false;
  // The last component was "." or ".." (the path names a directory that cannot be created,
  // removed or renamed through this name).
  bool special = false;

  bool ok() const { return error == err::kSuccess; }
};

class PathResolver {
 public:
  static constexpr std::size_t kMaxPath = 4096;

  explicit PathResolver(const memfs::Filesystem& fs) : fs_(fs) {}

  // Resolves `path` relative to the directory `base`. On success `parent` is set; `node` is set
  // when the final component exists.
  Resolved resolve(const memfs::NodePtr& base, std::string_view path) const;

 private:
  const memfs::Filesystem& fs_;
};

}  // namespace wasimoff::wasi
