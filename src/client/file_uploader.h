// FileUploader: turns local files into refs the Broker holds, so tasks can name them.
//
// A file is read and hashed off the event loop (on the thread pool), its ref computed locally, and
// uploaded only when the Broker does not hold that ref yet (HEAD /api/storage/<ref>), so running
// the same local module again sends nothing. Refs are remembered per path for the lifetime of
// the uploader. Only WebAssembly modules and ZIP archives are accepted (docs/http-api.md §6).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <map>
#include <string>
#include <string_view>

#include "client/connect_client.h"

namespace wasimoff::client {

class FileUploader {
 public:
  // Both must outlive the uploader.
  FileUploader(ConnectClient& client, asio::thread_pool& pool);

  // The ref of the local file `path`, uploading it first if needed. `expected_media` is
  // kMediaWasm or kMediaZip (common/file_ref.h); a file of another type is rejected with a
  // ClientError(kLocal) naming it, as is a file that cannot be read.
  awaitable<std::string> ensure(std::string path, std::string_view expected_media);

  // Uploads `path` (a module or an archive) and points the alias `name` at it (no alias when
  // empty); returns the ref. Always sends the file when a name is given (to set the alias).
  awaitable<std::string> upload(std::string path, std::string name);

  // Number of files actually sent to the Broker.
  std::size_t uploads() const { return uploads_; }

 private:
  struct Loaded {
    std::string bytes;
    std::string ref;
    std::string media;  // sniffed; "" for neither wasm nor zip
  };
  awaitable<Loaded> load(std::string path);

  ConnectClient& client_;
  asio::thread_pool& pool_;
  std::map<std::string, std::string> refs_;  // "<media> <absolute path>" -> ref
  std::size_t uploads_ = 0;
};

}  // namespace wasimoff::client
