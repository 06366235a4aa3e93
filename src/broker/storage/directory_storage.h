// Directory storage backend (`dirfs://<dir>` or a bare path starting with `/`, `./`, `../`),
// docs/configuration.md §5.2:
//
//   <dir>/blobs/<64 hex>       the content of file sha256:<64 hex>
//   <dir>/names/<encoded alias> the ref the alias points at, followed by "\n"
//   <dir>/tmp/                 new files are written here, fsynced, then renamed into place
//
// Renaming makes every file appear atomically, so a crash leaves at most an orphan in tmp/,
// which is ignored (and removed when older than an hour, at the next start). The directories are
// created when missing and must be writable. Opening scans blobs/ and names/ into the in-memory
// index; the media type is sniffed from each blob's first bytes (not stored separately).
//
// Alias file names are percent-encoded minimally — `%`, control characters and a leading `.`
// become `%XX`, other bytes (including UTF-8) stay as they are — so that names of up to 255
// bytes fit the usual 255-byte file name limit. Any percent-encoding is accepted when reading.
// An alias whose encoding exceeds 255 bytes (only possible with many `%`) is rejected as
// InvalidAlias.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "broker/storage/file_storage.h"

namespace wasimoff::broker {

class DirectoryStorage final : public FileStorage {
 public:
  // Creates the layout if missing and loads the index. Throws StorageOpenError.
  explicit DirectoryStorage(std::filesystem::path dir);

  std::string description() const override;

  // Alias ↔ file name under names/.
  static std::string encode_name(std::string_view alias);
  static std::optional<std::string> decode_name(std::string_view file_name);

 protected:
  void put_blob(const FileInfo& info, std::string&& bytes) override;
  void put_alias(const std::string& alias, const std::string& ref) override;
  std::shared_ptr<const std::string> get_blob(const FileInfo& info) const override;
  FileContent get_content(const FileInfo& info) const override;

 private:
  std::filesystem::path blob_path(std::string_view ref) const;
  void prepare_directories();
  void load_blobs();
  void load_names();
  void remove_stale_temporaries();
  // Writes `data` to a new file in tmp/, fsyncs it, renames it to `target` and fsyncs the
  // target's directory. Throws StorageError.
  void write_atomically(const std::filesystem::path& target, std::string_view data) const;

  std::filesystem::path root_;
  std::filesystem::path blobs_;
  std::filesystem::path names_;
  std::filesystem::path tmp_;
};

}  // namespace wasimoff::broker
