// SQLite storage backend (`sqlite://<file>`), docs/configuration.md §5.2:
//
//   files(ref TEXT PRIMARY KEY, media TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL,
//         created INTEGER NOT NULL)            -- created: Unix time in seconds
//   names(name TEXT PRIMARY KEY, ref TEXT NOT NULL)
//
// WAL journal mode, 3 s busy timeout. The database (and its parent directory) is created when
// missing. One connection serves all threads, guarded by a mutex; resolve() never reaches it
// because metadata lives in the in-memory index (loaded at open). Blobs read recently and still
// referenced elsewhere (e.g. by a response being sent) are shared instead of read again.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "broker/storage/file_storage.h"

struct sqlite3;

namespace wasimoff::broker {

class SqliteStorage final : public FileStorage {
 public:
  // Opens or creates the database and loads the index. Throws StorageOpenError.
  explicit SqliteStorage(std::filesystem::path file);
  ~SqliteStorage() override;

  std::string description() const override { return "sqlite database " + file_.string(); }

 protected:
  void put_blob(const FileInfo& info, std::string&& bytes) override;
  void put_alias(const std::string& alias, const std::string& ref) override;
  std::shared_ptr<const std::string> get_blob(const FileInfo& info) const override;

 private:
  void load_index();

  std::filesystem::path file_;
  mutable std::mutex mutex_;  // guards db_ and shared_
  sqlite3* db_ = nullptr;
  // Blobs handed out by get_blob(), reused while someone still holds them.
  mutable std::unordered_map<std::string, std::weak_ptr<const std::string>> shared_;
};

}  // namespace wasimoff::broker
