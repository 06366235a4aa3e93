// Content-addressed file storage of the Broker (docs/http-api.md §6, docs/configuration.md §5.2).
//
// Files are WebAssembly modules or ZIP archives addressed by their ref ("sha256:<64 hex>", see
// common/file_ref.h). An optional alias (friendly name) points at a ref; storing again under the
// same alias re-points it. Identical content is stored once.
//
// Threading: every method is thread-safe. store(), read() and open() may block on disk or
// database I/O and belong on a thread pool (common/async.h offload()). resolve(), exists() and
// list() only consult an in-memory index that every backend keeps, so they are cheap enough to
// call directly from the event loop (the scheduler resolves every admitted task's files).
//
// The index is loaded when a persistent backend is opened and updated by this process only: a
// second process writing into the same directory or database is not seen until a restart.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "broker/storage/file_index.h"

namespace wasimoff::broker {

// The content is neither a WebAssembly module nor a ZIP archive (HTTP 415 / Connect
// invalid_argument "unsupported filetype").
class UnsupportedFileType : public std::invalid_argument {
 public:
  UnsupportedFileType() : std::invalid_argument("unsupported filetype") {}
};

// The alias breaks the name rules of docs/http-api.md §6.1 (HTTP 400 "invalid name"). what() is
// "invalid name: <reason>".
class InvalidAlias : public std::invalid_argument {
 public:
  explicit InvalidAlias(const std::string& reason)
      : std::invalid_argument("invalid name: " + reason) {}
};

// The backend failed to write or read (disk full, I/O error, database error). what() names the
// operation, the path or database and the system's reason.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend cannot be opened. what() is the reason only, printed by the Broker after
// `WASIMOFF_FILESTORAGE="<value>": ` (e.g. "cannot create directory /x: Permission denied").
class StorageOpenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes of a stored file, ready to be sent: either held in memory (shared, immutable), or
// (directory backend) an immutable file on disk the HTTP server streams itself.
struct FileContent {
  FileInfo info;
  std::shared_ptr<const std::string> bytes;  // set, or else `path` is
  std::string path;
};

class FileStorage {
 public:
  virtual ~FileStorage() = default;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  // Stores `bytes` (blocking: hashes and writes). The media type is sniffed from the first bytes.
  // Content already present is not written again. With an alias, the alias is (re-)pointed at
  // the ref. Returns the stored file's metadata.
  // Throws UnsupportedFileType, InvalidAlias (before anything is written) or StorageError.
  FileInfo store(std::string bytes, std::optional<std::string_view> alias = std::nullopt);

  // Metadata of a ref (hex in either case) or an alias; nullopt when unknown. Cheap (index).
  std::optional<FileInfo> resolve(std::string_view ref_or_alias) const;
  bool exists(std::string_view ref_or_alias) const { return resolve(ref_or_alias).has_value(); }
  // Every stored file, sorted by ref. Cheap (index), but proportional to the number of files.
  std::vector<FileInfo> list() const { return index_.list(); }

  // The whole content in memory (blocking); nullptr when unknown. Throws StorageError when the
  // file is indexed but cannot be read.
  std::shared_ptr<const std::string> read(std::string_view ref_or_alias) const;
  // The content for sending (blocking for backends that must load it); nullopt when unknown.
  // Throws StorageError like read().
  std::optional<FileContent> open(std::string_view ref_or_alias) const;

  // Human-readable description for the startup log, e.g. "sqlite database /var/lib/files.db".
  virtual std::string description() const = 0;

 protected:
  FileStorage() = default;

  // Persists a blob that the index does not contain yet. May run concurrently, also for the same
  // ref (both callers carry identical bytes); must be idempotent. Throws StorageError.
  virtual void put_blob(const FileInfo& info, std::string&& bytes) = 0;
  // Persists alias → ref. Calls are serialised by the caller. Throws StorageError or InvalidAlias
  // (a name the backend cannot represent).
  virtual void put_alias(const std::string& alias, const std::string& ref) = 0;
  // Loads an indexed blob. Throws StorageError.
  virtual std::shared_ptr<const std::string> get_blob(const FileInfo& info) const = 0;
  // Default: the loaded blob; the directory backend returns the file path instead.
  virtual FileContent get_content(const FileInfo& info) const;

  // Filled by persistent backends while opening, updated by store().
  FileIndex index_;

 private:
  // Serialises put_alias + index update so the persisted and the indexed alias always agree.
  std::mutex alias_mutex_;
};

}  // namespace wasimoff::broker
