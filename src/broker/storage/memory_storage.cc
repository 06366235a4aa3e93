#include "broker/storage/memory_storage.h"

#include <mutex>

namespace wasimoff::broker {

void MemoryStorage::put_blob(const FileInfo& info, std::string&& bytes) {
  auto blob = std::make_shared<const std::string>(std::move(bytes));
  std::unique_lock lock(mutex_);
  blobs_.try_emplace(info.ref, std::move(blob));
}

void MemoryStorage::put_alias(const std::string&, const std::string&) {
  // The index is the only record of aliases in memory.
}

std::shared_ptr<const std::string> MemoryStorage::get_blob(const FileInfo& info) const {
  std::shared_lock lock(mutex_);
  auto it = blobs_.find(info.ref);
  if (it == blobs_.end()) throw StorageError("file " + info.ref + " is missing from memory");
  return it->second;
}

}  // namespace wasimoff::broker
