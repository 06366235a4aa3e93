// The provider's content-addressed file cache (docs/provider-internals.md §2): WebAssembly modules
// and rootfs archives on disk, keyed by their `sha256:` ref.
//
//  * get(ref) returns a local file for the ref, downloading it through the supervisor's fetch
//    callback when missing. Concurrent requests for one ref share one download. Bytes are
//    SHA-256 verified before they are stored; files found on disk at start-up are verified on
//    their first use.
//  * Files are kept in LRU order under a size cap. A file in use (a FileLease exists) is never
//    evicted; the cap may then be exceeded until the lease ends.
//  * on_change() reports added and removed refs (for Event.FileSystemUpdate).
//
// Layout: <dir>/<64 lower-case hex>; temporary files start with ".tmp-". Hashing and disk I/O run
// on the given thread pool; all bookkeeping on the executor (not thread-safe, no locks). The
// thread pool and the io_context must outlive operations in progress.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace wasimoff::cache {

namespace asio = boost::asio;

struct FileCacheOptions {
  std::filesystem::path dir;             // created if missing
  std::uint64_t max_bytes = 2ull << 30;  // LRU cap (--cache-size)
};

// A file could not be obtained or stored. what() is a short reason, e.g. "hash mismatch" or the
// fetch callback's message; callers wrap it (`binary not found in storage: <ref>`). code() says
// whose fault it is: kInvalidArgument for bytes that do not match their claimed ref, kDataLoss for
// fetched bytes that do not, kInternal for this host's problems.
class FileCacheError : public std::runtime_error {
 public:
  explicit FileCacheError(const std::string& what, StatusCode code = StatusCode::kInternal)
      : std::runtime_error(what), code_(code) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

struct CacheEntry;
struct CacheState;

// Keeps one cached file from being evicted while it is in use. Movable; cheap.
class FileLease {
 public:
  FileLease() = default;
  FileLease(std::shared_ptr<CacheEntry> entry, std::weak_ptr<CacheState> cache);
  FileLease(FileLease&&) noexcept = default;
  FileLease& operator=(FileLease&& other) noexcept;
  ~FileLease();

  const std::string& ref() const;
  const std::filesystem::path& path() const;
  std::uint64_t size() const;
  explicit operator bool() const { return entry_ != nullptr; }

 private:
  void release();
  std::shared_ptr<CacheEntry> entry_;
  std::weak_ptr<CacheState> cache_;
};

class FileCache {
 public:
  // Downloads a ref (e.g. GET /api/storage/<ref>); returns the body or throws with a reason.
  using Fetcher = std::function<asio::awaitable<std::string>(std::string ref)>;
  using ChangeCallback = std::function<void(const std::vector<std::string>& added,
                                            const std::vector<std::string>& removed)>;

  FileCache(asio::any_io_executor ex, asio::thread_pool& pool, FileCacheOptions options,
            Fetcher fetch);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // Creates the directory and indexes the files already there (oldest first in LRU order),
  // removing leftovers of interrupted writes. Call once before anything else.
  asio::awaitable<void> open();

  // A verified local copy of `ref`. Throws FileCacheError (invalid ref, fetch failure, hash
  // mismatch, disk error).
  asio::awaitable<FileLease> get(std::string ref);

  // Stores `bytes` under their computed ref (Filesystem.Upload, inline blobs). If `claimed_ref`
  // is a sha256 ref that does not match: FileCacheError("hash mismatch").
  asio::awaitable<FileLease> put(std::string bytes, std::optional<std::string> claimed_ref = {});

  bool contains(std::string_view ref) const;  // held (maybe not yet verified)
  std::vector<std::string> refs() const;      // everything held, for Filesystem.Listing
  std::uint64_t used_bytes() const;

  void on_change(ChangeCallback callback);

 private:
  std::shared_ptr<CacheState> state_;
};

}  // namespace wasimoff::cache
