// In-memory storage backend (`:memory:`, empty, `memory://…`): fast, lost on restart.
//
// Blobs are kept as shared immutable strings, so read() and open() hand out the stored bytes
// without copying. Memory use grows with every distinct file uploaded (bounded only by the
// upload size limit per file); use a persistent backend for long-running Brokers.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "broker/storage/file_storage.h"

namespace wasimoff::broker {

class MemoryStorage final : public FileStorage {
 public:
  MemoryStorage() = default;
  std::string description() const override { return "in-memory storage"; }

 protected:
  void put_blob(const FileInfo& info, std::string&& bytes) override;
  void put_alias(const std::string& alias, const std::string& ref) override;
  std::shared_ptr<const std::string> get_blob(const FileInfo& info) const override;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> blobs_;
};

}  // namespace wasimoff::broker
