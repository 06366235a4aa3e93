// Chooses and opens the storage backend named by WASIMOFF_FILESTORAGE (docs/configuration.md §5.2):
//
//   ""  ":memory:"  "memory://…"         in memory
//   "dirfs://<dir>"                       directory (relative or absolute <dir>)
//   "/…"  "./…"  "../…"                   directory, same as dirfs://
//   "sqlite://<file>"                     SQLite: "sqlite:///abs/files.db", "sqlite://files.db"
//   anything else                         StorageOpenError "unknown storage scheme"
#pragma once

#include <memory>
#include <string_view>

#include "broker/storage/file_storage.h"

namespace wasimoff::broker {

// Opens (creating when missing) the backend. Throws StorageOpenError whose what() is the reason
// to print after `WASIMOFF_FILESTORAGE="<value>": `.
std::unique_ptr<FileStorage> open_storage(std::string_view spec);

}  // namespace wasimoff::broker
