#include "broker/api/storage_routes.h"

#include <spdlog/spdlog.h>

#include <memory>

#include "common/file_ref.h"
#include "common/strings.h"
#include "contract/contract.h"
#include "net/http/byte_range.h"

namespace wasimoff::broker {

namespace {

constexpr std::string_view kUploadPath = "/api/storage/upload";
constexpr std::string_view kStoragePrefix = contract::paths::kStorage;
constexpr std::string_view kCacheRef = "public, max-age=31536000, immutable";
constexpr std::string_view kCacheAlias = "no-cache";

// True when the raw query string has a parameter named `key` (with or without a value).
bool has_query_key(std::string_view query, std::string_view key) {
  for (auto part : split(query, '&')) {
    if (part.empty()) continue;
    auto name = percent_decode(part.substr(0, part.find('=')), true);
    if (name && *name == key) return true;
  }
  return false;
}

// If-None-Match (weak comparison): "*" or any listed tag equal to `etag`.
bool none_match_hits(std::string_view header, std::string_view etag) {
  for (auto tag : split(header, ',')) {
    tag = trim(tag);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

http::Body body_of(const FileContent& content, std::uint64_t offset, std::uint64_t length) {
  if (content.bytes)
    return http::SharedBytes{content.bytes, static_cast<std::size_t>(offset),
                             static_cast<std::size_t>(length)};
  return http::FileRange{content.path, offset, length};
}

}  // namespace

awaitable<http::Response> StorageRoutes::upload(http::Request& request,
                                                http::RequestContext&) const {
  const AccessPolicy& access = options_.access;
  if (request.method == "OPTIONS") {
    // A preflight for reading the file aliased "upload" follows the public read policy.
    auto wanted = request.header("Access-Control-Request-Method");
    if (wanted && (iequals(trim(*wanted), "GET") || iequals(trim(*wanted), "HEAD")))
      co_return AccessPolicy::public_preflight(request);
    co_return access.client_preflight(request);
  }
  if (auto reject = access.client_cors_reject(request)) co_return std::move(*reject);
  http::Response response = co_await handle_upload(request);
  access.apply_client_cors(request, response);
  co_return response;
}

awaitable<http::Response> StorageRoutes::handle_upload(http::Request& request) const {
  if (!options_.access.client_ok(request)) co_return AccessPolicy::unauthorized();

  std::optional<std::string> alias;
  if (has_query_key(request.query, "name")) {
    alias = request.query_param("name");
    if (!alias || check_alias(*alias)) co_return http::Response::text(400, "invalid name");
  }
  if (request.body.size() > options_.max_upload_size)
    co_return http::Response::text(413, "file too large");
  if (!sniff_media(request.body)) co_return http::Response::text(415, "unsupported filetype");

  // A named callable, moved into offload(): GCC 12 destroys a prvalue lambda argument of a
  // coroutine twice (once as the temporary, once as the parameter copy).
  auto store = [&storage = options_.storage, bytes = std::move(request.body), alias]() mutable {
    return storage.store(std::move(bytes),
                         alias ? std::optional<std::string_view>(*alias) : std::nullopt);
  };
  FileInfo info;
  try {
    info = co_await offload(options_.pool, std::move(store));
  } catch (const UnsupportedFileType&) {
    co_return http::Response::text(415, "unsupported filetype");
  } catch (const InvalidAlias& e) {
    spdlog::debug("storage upload from {}: {}", request.remote, e.what());
    co_return http::Response::text(400, "invalid name");
  } catch (const std::exception& e) {
    spdlog::error("storage upload from {}: inserting file failed: {}", request.remote, e.what());
    co_return http::Response::text(500, "inserting file in storage failed");
  }
  spdlog::debug("storage: stored {} ({} bytes, {}){}{}", info.ref, info.size, info.media,
                alias ? " as " : "", alias ? *alias : std::string());
  auto response = http::Response::text(200, info.ref);
  response.headers.set("x-wasimoff-ref", info.ref);
  co_return response;
}

awaitable<http::Response> StorageRoutes::download(http::Request& request,
                                                  http::RequestContext&) const {
  if (request.method == "OPTIONS") co_return AccessPolicy::public_preflight(request);
  http::Response response = co_await handle_download(request);
  AccessPolicy::apply_public_cors(response);
  co_return response;
}

awaitable<http::Response> StorageRoutes::handle_download(const http::Request& request) const {
  if (!options_.access.download_ok(request)) co_return AccessPolicy::unauthorized();

  std::string_view segment = request.path;
  if (segment.starts_with(kStoragePrefix)) segment.remove_prefix(kStoragePrefix.size());
  auto name = percent_decode(segment, false);
  if (!name) co_return http::Response::text(404, "file not found in storage");
  bool by_ref = normalize_ref(*name).has_value();
  auto info = options_.storage.resolve(*name);
  if (!info) co_return http::Response::text(404, "file not found in storage");

  const std::string etag = "\"" + info->ref + "\"";
  auto add_headers = [&](http::Response& r) {
    r.headers.set("x-wasimoff-ref", info->ref);
    r.headers.set("ETag", etag);
    r.headers.set("Accept-Ranges", "bytes");
    r.headers.set("Cross-Origin-Resource-Policy", "cross-origin");
    r.headers.set("Cache-Control", std::string(by_ref ? kCacheRef : kCacheAlias));
  };

  if (auto if_none_match = request.header("If-None-Match");
      if_none_match && none_match_hits(*if_none_match, etag)) {
    http::Response r;
    r.status = 304;
    r.body = std::string();
    add_headers(r);
    co_return r;
  }

  http::RangeRequest range;
  auto range_headers = request.headers.get_all("Range");
  auto if_range = request.header("If-Range");
  bool range_applies = !if_range || trim(*if_range) == etag;
  if (range_headers.size() == 1 && range_applies)
    range = http::parse_range(range_headers[0], info->size);
  if (range.kind == http::RangeRequest::kUnsatisfiable) {
    auto r = http::Response::text(416, "range not satisfiable");
    add_headers(r);
    r.headers.set("Content-Range", "bytes */" + std::to_string(info->size));
    co_return r;
  }

  auto load = [&storage = options_.storage, ref = info->ref] { return storage.open(ref); };
  std::optional<FileContent> content;
  try {
    content = co_await offload(options_.pool, std::move(load));
  } catch (const std::exception& e) {
    spdlog::error("storage download of {}: {}", info->ref, e.what());
    co_return http::Response::text(500, "reading file from storage failed");
  }
  if (!content) co_return http::Response::text(404, "file not found in storage");

  // The size of what was actually loaded wins over the index (they only differ after outside
  // tampering with a directory store).
  std::uint64_t size = content->bytes ? content->bytes->size() : content->info.size;
  http::Response r;
  add_headers(r);
  r.headers.set("Content-Type", content->info.media);
  if (range.kind == http::RangeRequest::kPartial && range.last < size) {
    r.status = 206;
    r.headers.set("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                       std::to_string(range.last) + "/" + std::to_string(size));
    r.body = body_of(*content, range.first, range.last - range.first + 1);
  } else {
    r.status = 200;
    r.body = body_of(*content, 0, size);
  }
  co_return r;
}

void register_storage_routes(http::Router& router, StorageRoutes::Options options) {
  auto routes = std::make_shared<const StorageRoutes>(options);
  http::Handler upload = [routes](http::Request& request, http::RequestContext& context) {
    return routes->upload(request, context);
  };
  http::Handler download = [routes](http::Request& request, http::RequestContext& context) {
    return routes->download(request, context);
  };
  router.add("POST,OPTIONS", std::string(kUploadPath), upload);
  router.add("GET", std::string(kUploadPath), download);
  router.add("GET,OPTIONS", std::string(kStoragePrefix) + "*", download);
}

}  // namespace wasimoff::broker
