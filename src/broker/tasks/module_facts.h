// ModuleFacts of task binaries (docs/scheduling.md §3): the sha256 of the binary and the import
// module names and initial memory parsed from it. A stored binary is read and parsed once per ref
// and cached (at most kMaxEntries refs, the oldest forgotten first); an inline binary is hashed and
// parsed once per task (once per job for a parent's binary). Runs on the loop; reading and
// hashing large binaries is moved to the thread pool.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "broker/providers/provider_caps.h"
#include "broker/storage/file_storage.h"
#include "common/async.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::broker {

class ModuleFactsCache {
 public:
  static constexpr std::size_t kMaxEntries = 1024;
  // Inline binaries up to this size are hashed on the loop (cheaper than a thread hop).
  static constexpr std::size_t kInlineOnLoop = 256 * 1024;

  ModuleFactsCache(FileStorage& storage, asio::thread_pool& pool)
      : storage_(storage), pool_(pool) {}

  // Facts of a resolved binary: `ref` a canonical sha256 ref held by the storage, or a `blob`.
  // Never throws: a binary that cannot be read or parsed gets facts without a summary.
  awaitable<std::shared_ptr<const ModuleFacts>> facts(const v1::File& binary);

  std::size_t size() const { return cache_.size(); }

 private:
  FileStorage& storage_;
  asio::thread_pool& pool_;
  std::unordered_map<std::string, std::shared_ptr<const ModuleFacts>> cache_;
  std::deque<std::string> order_;
};

// Hashes and parses `bytes` (no I/O).
std::shared_ptr<const ModuleFacts> module_facts_of(std::string_view bytes);

}  // namespace wasimoff::broker
