#include "broker/storage/open_storage.h"

#include "broker/storage/directory_storage.h"
#include "broker/storage/memory_storage.h"
#include "broker/storage/sqlite_storage.h"

namespace wasimoff::broker {

namespace {

constexpr std::string_view kMemory = "memory://";
constexpr std::string_view kDirfs = "dirfs://";
constexpr std::string_view kSqlite = "sqlite://";

}  // namespace

std::unique_ptr<FileStorage> open_storage(std::string_view spec) {
  if (spec.empty() || spec == ":memory:" || spec.starts_with(kMemory))
    return std::make_unique<MemoryStorage>();
  if (spec.starts_with(kDirfs)) {
    auto dir = spec.substr(kDirfs.size());
    if (dir.empty()) throw StorageOpenError("missing directory after dirfs://");
    return std::make_unique<DirectoryStorage>(std::string(dir));
  }
  if (spec.starts_with("/") || spec.starts_with("./") || spec.starts_with("../"))
    return std::make_unique<DirectoryStorage>(std::string(spec));
  if (spec.starts_with(kSqlite)) {
    auto file = spec.substr(kSqlite.size());
    if (file.empty() || file.back() == '/')
      throw StorageOpenError("missing database file name after sqlite://");
    return std::make_unique<SqliteStorage>(std::string(file));
  }
  throw StorageOpenError("unknown storage scheme");
}

}  // namespace wasimoff::broker
