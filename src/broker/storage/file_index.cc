#include "broker/storage/file_index.h"

#include <algorithm>
#include <mutex>

#include "common/file_ref.h"

namespace wasimoff::broker {

bool FileIndex::add_file(FileInfo info) {
  std::unique_lock lock(mutex_);
  std::string key = info.ref;
  return files_.emplace(std::move(key), std::move(info)).second;
}

void FileIndex::set_alias(std::string alias, std::string ref) {
  std::unique_lock lock(mutex_);
  aliases_.insert_or_assign(std::move(alias), std::move(ref));
}

std::optional<FileInfo> FileIndex::resolve(std::string_view ref_or_alias) const {
  if (auto ref = normalize_ref(ref_or_alias)) return find_ref(*ref);
  std::shared_lock lock(mutex_);
  auto alias = aliases_.find(ref_or_alias);
  if (alias == aliases_.end()) return std::nullopt;
  auto file = files_.find(alias->second);
  if (file == files_.end()) return std::nullopt;
  return file->second;
}

std::optional<FileInfo> FileIndex::find_ref(std::string_view canonical_ref) const {
  std::shared_lock lock(mutex_);
  auto it = files_.find(canonical_ref);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> FileIndex::alias_target(std::string_view alias) const {
  std::shared_lock lock(mutex_);
  auto it = aliases_.find(alias);
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

std::vector<FileInfo> FileIndex::list() const {
  std::vector<FileInfo> out;
  {
    std::shared_lock lock(mutex_);
    out.reserve(files_.size());
    for (const auto& [ref, info] : files_) out.push_back(info);
  }
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.ref < b.ref; });
  return out;
}

std::size_t FileIndex::file_count() const {
  std::shared_lock lock(mutex_);
  return files_.size();
}

std::size_t FileIndex::alias_count() const {
  std::shared_lock lock(mutex_);
  return aliases_.size();
}

}  // namespace wasimoff::broker
