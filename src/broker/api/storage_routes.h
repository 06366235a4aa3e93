// Storage routes (docs/http-api.md §6):
//
//   POST    /api/storage/upload[?name=<alias>]   client auth (C), client API CORS + preflight
//   GET|HEAD /api/storage/{ref-or-name}          download auth (D), public CORS + preflight
//
// Blocking storage calls (hashing and writing uploads, loading blobs) run on the given thread
// pool; ref/alias lookups use the storage's in-memory index directly on the loop.
// GET /api/storage/upload downloads the file aliased "upload" like any other name (the exact
// upload route would otherwise hide it).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>

#include "broker/api/access_policy.h"
#include "broker/storage/file_storage.h"
#include "net/http/router.h"

namespace wasimoff::broker {

class StorageRoutes {
 public:
  struct Options {
    FileStorage& storage;
    boost::asio::thread_pool& pool;
    std::uint64_t max_upload_size;  // WASIMOFF_MAX_UPLOAD_SIZE; larger bodies → 413
    const AccessPolicy& access;
  };

  // The referenced objects must outlive every request dispatched to these routes.
  explicit StorageRoutes(Options options) : options_(options) {}

  // POST (and OPTIONS) /api/storage/upload.
  awaitable<http::Response> upload(http::Request& request, http::RequestContext& context) const;
  // GET, HEAD (and OPTIONS) /api/storage/{ref-or-name}.
  awaitable<http::Response> download(http::Request& request, http::RequestContext& context) const;

 private:
  awaitable<http::Response> handle_upload(http::Request& request) const;
  awaitable<http::Response> handle_download(const http::Request& request) const;

  Options options_;
};

// Registers both routes on `router`.
void register_storage_routes(http::Router& router, StorageRoutes::Options options);

}  // namespace wasimoff::broker
