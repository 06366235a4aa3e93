// In-memory catalogue of stored files (ref → metadata) and aliases (name → ref), shared by every
// storage backend so that resolving a ref or alias never touches disk or database.
//
// Thread-safe: lookups take a shared lock, updates an exclusive one.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wasimoff::broker {

// Metadata of one stored file.
struct FileInfo {
  std::string ref;    // "sha256:<64 lower-case hex>"
  std::string media;  // "application/wasm" or "application/zip"
  std::uint64_t size = 0;

  friend bool operator==(const FileInfo&, const FileInfo&) = default;
};

class FileIndex {
 public:
  // Adds a file; returns false (and changes nothing) when the ref is already present.
  bool add_file(FileInfo info);
  // Points `alias` at `ref` (which need not be indexed yet; resolve() then ignores the alias).
  void set_alias(std::string alias, std::string ref);

  // By ref (any hex case) or alias; nullopt when unknown or the alias points at a missing ref.
  std::optional<FileInfo> resolve(std::string_view ref_or_alias) const;
  // By canonical (lower-case) ref only.
  std::optional<FileInfo> find_ref(std::string_view canonical_ref) const;
  // The ref an alias points at, if any.
  std::optional<std::string> alias_target(std::string_view alias) const;

  std::vector<FileInfo> list() const;  // sorted by ref
  std::size_t file_count() const;
  std::size_t alias_count() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  mutable std::shared_mutex mutex_;
  Map<FileInfo> files_;
  Map<std::string> aliases_;
};

}  // namespace wasimoff::broker
