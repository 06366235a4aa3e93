#include "client/file_uploader.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/file_ref.h"
#include "common/strings.h"

namespace wasimoff::client {

namespace fs = std::filesystem;

namespace {

std::string describe_media(std::string_view media) {
  if (media == kMediaWasm) return "a WebAssembly module";
  if (media == kMediaZip) return "a ZIP archive";
  return "neither a WebAssembly module nor a ZIP archive";
}

}  // namespace

FileUploader::FileUploader(ConnectClient& client, asio::thread_pool& pool)
    : client_(client), pool_(pool) {}

awaitable<FileUploader::Loaded> FileUploader::load(std::string path) {
  auto job = [path]() -> Loaded {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec) throw local_error("cannot read " + path + ": " + ec.message());
    if (fs::is_directory(status)) throw local_error(path + " is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw local_error("cannot read " + path + ": " + std::strerror(errno));
    Loaded out;
    out.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw local_error("cannot read " + path + ": read error");
    out.ref = make_ref(out.bytes);
    if (auto media = sniff_media(out.bytes)) out.media = std::string(*media);
    return out;
  };
  co_return co_await offload(pool_, std::move(job));
}

awaitable<std::string> FileUploader::ensure(std::string path, std::string_view expected_media) {
  std::error_code ec;
  std::string key = fs::absolute(path, ec).lexically_normal().string();
  if (ec) key = path;
  key = std::string(expected_media) + " " + key;  // the type check applies per role
  if (auto it = refs_.find(key); it != refs_.end()) co_return it->second;
  Loaded file = co_await load(path);
  if (file.media != expected_media)
    throw local_error(path + " is not " + describe_media(expected_media) +
                      (file.media.empty() ? "" : " but " + describe_media(file.media)));
  if (co_await client_.exists(file.ref)) {
    spdlog::debug("{} is already stored as {}", path, file.ref);
  } else {
    std::string ref = co_await client_.upload(std::move(file.bytes));
    ++uploads_;
    if (ref != file.ref)
      throw ClientError(ClientError::Kind::kProtocol, "",
                        "the broker stored " + path + " as " + ref + ", expected " + file.ref);
    spdlog::debug("uploaded {} as {}", path, file.ref);
  }
  refs_[key] = file.ref;
  co_return file.ref;
}

awaitable<std::string> FileUploader::upload(std::string path, std::string name) {
  if (!name.empty())
    if (auto why = check_alias(name)) throw local_error("invalid name \"" + name + "\": " + *why);
  Loaded file = co_await load(path);
  if (file.media.empty())
    throw local_error(path + " is " + describe_media(file.media) + "; only those can be stored");
  std::string expected = file.ref;
  std::string ref = co_await client_.upload(std::move(file.bytes), std::move(name));
  ++uploads_;
  if (ref != expected)
    throw ClientError(ClientError::Kind::kProtocol, "",
                      "the broker stored " + path + " as " + ref + ", expected " + expected);
  co_return ref;
}

}  // namespace wasimoff::client
