#include "broker/storage/file_storage.h"

#include "common/file_ref.h"

namespace wasimoff::broker {

FileInfo FileStorage::store(std::string bytes, std::optional<std::string_view> alias) {
  auto media = sniff_media(bytes);
  if (!media) throw UnsupportedFileType();
  if (alias) {
    if (auto reason = check_alias(*alias)) throw InvalidAlias(*reason);
  }
  FileInfo info{make_ref(bytes), std::string(*media), bytes.size()};
  if (!index_.find_ref(info.ref)) {
    put_blob(info, std::move(bytes));
    index_.add_file(info);
  }
  if (alias) {
    std::lock_guard lock(alias_mutex_);
    std::string name(*alias);
    put_alias(name, info.ref);
    index_.set_alias(std::move(name), info.ref);
  }
  return info;
}

std::optional<FileInfo> FileStorage::resolve(std::string_view ref_or_alias) const {
  return index_.resolve(ref_or_alias);
}

std::shared_ptr<const std::string> FileStorage::read(std::string_view ref_or_alias) const {
  auto info = index_.resolve(ref_or_alias);
  if (!info) return nullptr;
  return get_blob(*info);
}

std::optional<FileContent> FileStorage::open(std::string_view ref_or_alias) const {
  auto info = index_.resolve(ref_or_alias);
  if (!info) return std::nullopt;
  return get_content(*info);
}

FileContent FileStorage::get_content(const FileInfo& info) const {
  return FileContent{info, get_blob(info), {}};
}

}  // namespace wasimoff::broker
