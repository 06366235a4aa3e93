// The static file handler: serves the browser provider (or any directory) on every path that no
// route claimed (docs/http-api.md §9). Installed as the Router's fallback.
//
// Rules, in the order they are applied:
//  1. A path under /api/ (raw or percent-decoded) → 404 `not found`; API paths never reach the
//     file system.
//  2. Methods other than GET/HEAD → 405 with `Allow: GET, HEAD`.
//  3. The path is percent-decoded; a malformed escape, NUL, backslash or a `..` segment → 400.
//  4. Any segment starting with '.' (dot-files, `.git/`, `.`) → 404.
//  5. The file is resolved with all symlinks followed; it must lie inside the (resolved) root,
//     and no segment of its path below the root may start with '.', otherwise 404. Only regular
//     files are served (FIFOs, devices and sockets → 404); unreadable files → 404.
//  6. A directory URL without trailing slash → 301 to the slash form (query kept, repeated
//     slashes collapsed so the Location can never become a protocol-relative `//host` URL).
//     A directory with trailing slash serves its `index.html` (404 without one). No listings,
//     no SPA fallback: anything else → 404 `not found`.
//  7. 200 with Content-Type from mime.h, `Last-Modified`, and `Cache-Control: no-cache` for
//     index.html; `If-Modified-Since` (any of the three HTTP-date formats) not older than the
//     file's modification time → 304 (ignored when `If-None-Match` is present, RFC 9110 §13.1.3).
//     The body is a FileRange over the whole file, streamed by the server.
// Every response except the /api/ 404 carries COOP `same-origin`, COEP `require-corp`, CORP
// `same-origin` and `X-Content-Type-Options: nosniff` (the provider page needs cross-origin
// isolation for SharedArrayBuffer).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <filesystem>

#include "net/http/router.h"

namespace wasimoff::http {

struct StaticFilesOptions {
  // Directory to serve. Empty or missing → every request is answered 404 `not found` (the
  // Broker warns about a missing default directory at startup, docs/configuration.md §5.4). The
  // root is resolved on every request, so it may appear or be replaced while the server runs.
  std::filesystem::path root;
  // When set, the file-system lookups (realpath, stat, access) of each request run on this pool
  // instead of on the event loop; a slow or network file system then cannot stall other
  // connections. The pool must outlive the handler. Null → lookups run inline (they are a few
  // metadata syscalls; file contents are never read by the handler in either case).
  boost::asio::thread_pool* pool = nullptr;
};

// Returns the handler described above. It holds no per-request state and may be invoked
// concurrently from several coroutines; the options are copied.
Handler make_static_files_handler(StaticFilesOptions options);

}  // namespace wasimoff::http
