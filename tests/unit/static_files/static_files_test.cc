#include "net/http/static_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "run_sync.h"

namespace wasimoff::http {
namespace {

namespace fs = std::filesystem;

// 2020-01-02 03:04:05 UTC, a Thursday.
constexpr std::time_t kMtime = 1577934245;
constexpr const char* kMtimeHttp = "Thu, 02 Jan 2020 03:04:05 GMT";

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  struct timespec times[2] = {{kMtime, 0}, {kMtime, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0) << p;
}

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wasimoff-static-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    outside_ = base_ / "outside";
    write_file(root_ / "index.html", "<h1>home</h1>");
    write_file(root_ / "app.js", "console.log(1)");
    write_file(root_ / "style.css", "body{}");
    write_file(root_ / "mod.wasm", std::string("\0asm\1\0\0\0", 8));
    write_file(root_ / "data.json", "{}");
    write_file(root_ / "pic.png", "png");
    write_file(root_ / "font.woff2", "woff2");
    write_file(root_ / "notes.txt", "notes");
    write_file(root_ / "blob.xyz", "xyz");
    write_file(root_ / "with space.txt", "spaced");
    write_file(root_ / "sub" / "index.html", "<h1>sub</h1>");
    write_file(root_ / "sub" / "deeper" / "file.txt", "deep");
    write_file(root_ / "sub" / ".env", "SECRET=1");
    write_file(root_ / "noindex" / "a.txt", "a");
    write_file(root_ / ".git" / "config", "[core]");
    write_file(root_ / ".hidden", "hidden");
    write_file(outside_ / "secret.txt", "secret");
    fs::create_symlink(outside_ / "secret.txt", root_ / "escape");
    fs::create_symlink(outside_, root_ / "escape_dir");
    fs::create_symlink("app.js", root_ / "alias.js");
    fs::create_symlink(".hidden", root_ / "to_dot.txt");
    ASSERT_EQ(::mkfifo((root_ / "pipe.txt").c_str(), 0600), 0);
  }
  void TearDown() override { fs::remove_all(base_); }

  Response get(const std::string& target, Headers headers = {}, std::string method = "GET",
               StaticFilesOptions options = {}) {
    if (options.root.empty()) options.root = root_;
    auto handler = make_static_files_handler(std::move(options));
    return call(handler, target, std::move(headers), std::move(method));
  }

  static Response call(const Handler& handler, const std::string& target, Headers headers = {},
                       std::string method = "GET") {
    asio::io_context io;
    Request req;
    req.method = std::move(method);
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.headers = std::move(headers);
    RequestContext ctx(io.get_executor());
    std::optional<Response> out;
    out = wasimoff::testing::run_sync(io, handler(req, ctx));
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Response{};
  }

  static std::string header(const Response& r, std::string_view name) {
    return std::string(r.headers.get(name).value_or("<absent>"));
  }
  static std::string text(const Response& r) {
    auto* s = std::get_if<std::string>(&r.body);
    return s ? *s : "<not a string body>";
  }
  static void expect_isolated(const Response& r) {
    EXPECT_EQ(header(r, "Cross-Origin-Opener-Policy"), "same-origin");
    EXPECT_EQ(header(r, "Cross-Origin-Embedder-Policy"), "require-corp");
    EXPECT_EQ(header(r, "Cross-Origin-Resource-Policy"), "same-origin");
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  }
  void expect_file(const Response& r, const fs::path& file) {
    ASSERT_EQ(r.status, 200u);
    auto* range = std::get_if<FileRange>(&r.body);
    ASSERT_NE(range, nullptr) << "body must be streamed from the file";
    EXPECT_EQ(range->path, fs::canonical(file).native());
    EXPECT_EQ(range->offset, 0u);
    EXPECT_EQ(range->length, fs::file_size(file));
    EXPECT_EQ(r.body_size(), fs::file_size(file));
    expect_isolated(r);
  }
  void expect_status(const std::string& target, unsigned status, std::string_view body) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(text(r), body);
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
  }

  fs::path base_, root_, outside_;
};

TEST_F(StaticFiles, RootServesIndexWithNoCacheAndIsolationHeaders) {
  auto r = get("/");
  expect_file(r, root_ / "index.html");
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "Last-Modified"), kMtimeHttp);

  auto direct = get("/index.html");
  expect_file(direct, root_ / "index.html");
  EXPECT_EQ(header(direct, "Cache-Control"), "no-cache");
}

TEST_F(StaticFiles, ContentTypeFollowsTheExtension) {
  const std::pair<const char*, const char*> cases[] = {
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/mod.wasm", "application/wasm"},
      {"/data.json", "application/json"},
      {"/pic.png", "image/png"},
      {"/font.woff2", "font/woff2"},
      {"/notes.txt", "text/plain; charset=utf-8"},
      {"/blob.xyz", "application/octet-stream"},
  };
  for (auto [target, type] : cases) {
    SCOPED_TRACE(target);
    auto r = get(target);
    expect_file(r, root_ / std::string(target).substr(1));
    EXPECT_EQ(header(r, "Content-Type"), type);
    EXPECT_EQ(header(r, "Cache-Control"), "<absent>");  // only index.html is no-cache
    EXPECT_EQ(header(r, "Last-Modified"), kMtimeHttp);
  }
}

TEST_F(StaticFiles, PathIsPercentDecoded) {
  expect_file(get("/with%20space.txt"), root_ / "with space.txt");
  expect_file(get("/sub/deeper/%66ile.txt"), root_ / "sub" / "deeper" / "file.txt");
}

TEST_F(StaticFiles, HeadAnswersLikeGet) {
  auto r = get("/app.js", {}, "HEAD");
  expect_file(r, root_ / "app.js");  // the server drops the body of HEAD responses
  EXPECT_EQ(header(r, "Content-Type"), "text/javascript; charset=utf-8");
}

TEST_F(StaticFiles, DirectoryWithoutSlashRedirectsKeepingTheQuery) {
  auto r = get("/sub?provider=1&x=%20");
  EXPECT_EQ(r.status, 301u);
  EXPECT_EQ(header(r, "Location"), "/sub/?provider=1&x=%20");
  expect_isolated(r);

  auto plain = get("/sub/deeper");
  EXPECT_EQ(plain.status, 301u);
  EXPECT_EQ(header(plain, "Location"), "/sub/deeper/");

  // Never a protocol-relative Location ("//evil.example/").
  auto doubled = get("//sub");
  EXPECT_EQ(doubled.status, 301u);
  EXPECT_EQ(header(doubled, "Location"), "/sub/");
}

TEST_F(StaticFiles, DirectoryWithSlashServesItsIndex) {
  auto r = get("/sub/");
  expect_file(r, root_ / "sub" / "index.html");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=utf-8");
}

TEST_F(StaticFiles, NoListingsAndNoSpaFallback) {
  expect_status("/sub/deeper/", 404, "not found\n");  // directory without index.html
  expect_status("/noindex/", 404, "not found\n");
  expect_status("/missing.html", 404, "not found\n");
  expect_status("/sub/missing", 404, "not found\n");
  expect_status("/app.js/", 404, "not found\n");  // a file is not a directory
  expect_isolated(get("/missing.html"));
}

TEST_F(StaticFiles, TraversalAndMalformedPathsAreBadRequests) {
  expect_status("/../etc/passwd", 400, "path must not contain '..'\n");
  expect_status("/%2e%2e/x", 400, "path must not contain '..'\n");
  expect_status("/%2E%2E/%2E%2E/etc/passwd", 400, "path must not contain '..'\n");
  expect_status("/sub/../index.html", 400, "path must not contain '..'\n");
  expect_status("/sub/..", 400, "path must not contain '..'\n");
  expect_status("/.git/../index.html", 400, "path must not contain '..'\n");
  expect_status("/a%00b", 400, "path must not contain NUL\n");
  expect_status("/a\\b", 400, "path must not contain a backslash\n");
  expect_status("/..%5c..%5cetc%5cpasswd", 400, "path must not contain a backslash\n");
  expect_status("/%zz", 400, "invalid percent-encoding in path\n");
  expect_status("/%", 400, "invalid percent-encoding in path\n");
}

TEST_F(StaticFiles, DotFilesAreNotServed) {
  expect_status("/.git/config", 404, "not found\n");
  expect_status("/.git/", 404, "not found\n");
  expect_status("/.hidden", 404, "not found\n");
  expect_status("/sub/.env", 404, "not found\n");
  expect_status("/%2egit/config", 404, "not found\n");
  expect_status("/./index.html", 404, "not found\n");
  // A symlink with an innocent name must not expose a dot-file either.
  expect_status("/to_dot.txt", 404, "not found\n");
}

TEST_F(StaticFiles, SymlinksMustStayInsideTheRoot) {
  expect_status("/escape", 404, "not found\n");
  expect_status("/escape_dir/secret.txt", 404, "not found\n");
  expect_status("/escape_dir", 404, "not found\n");
  auto inside = get("/alias.js");
  expect_file(inside, root_ / "app.js");
  EXPECT_EQ(header(inside, "Content-Type"), "text/javascript; charset=utf-8");
}

TEST_F(StaticFiles, OnlyRegularFilesAreServed) {
  expect_status("/pipe.txt", 404, "not found\n");  // opening a FIFO would block the server
}

TEST_F(StaticFiles, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    SCOPED_TRACE(method);
    auto r = get("/index.html", {}, method);
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
    expect_isolated(r);
  }
}

TEST_F(StaticFiles, ApiPathsAreNeverServedFromFiles) {
  write_file(root_ / "api" / "version", "static shadow");
  for (const char* target : {"/api/version", "/api", "/api/", "/%61pi/version", "/api/../x"}) {
    SCOPED_TRACE(target);
    for (const char* method : {"GET", "POST"}) {
      auto r = get(target, {}, method);
      EXPECT_EQ(r.status, 404u);
      EXPECT_EQ(text(r), "not found\n");
      EXPECT_EQ(header(r, "Cross-Origin-Opener-Policy"), "<absent>");  // an API answer
    }
  }
  // A sibling that merely starts with "api" is an ordinary static path.
  write_file(root_ / "apix.txt", "x");
  expect_file(get("/apix.txt"), root_ / "apix.txt");
}

TEST_F(StaticFiles, IfModifiedSinceGives304) {
  Headers same;
  same.add("If-Modified-Since", kMtimeHttp);
  auto r = get("/app.js", same);
  EXPECT_EQ(r.status, 304u);
  EXPECT_EQ(r.body_size(), 0u);
  EXPECT_EQ(header(r, "Last-Modified"), kMtimeHttp);
  expect_isolated(r);

  auto index = get("/", same);
  EXPECT_EQ(index.status, 304u);
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");

  // The obsolete formats a server must accept (RFC 9110 §5.6.7), one second later.
  for (const char* later : {"Thursday, 02-Jan-20 03:04:06 GMT", "Thu Jan  2 03:04:06 2020"}) {
    SCOPED_TRACE(later);
    Headers h;
    h.add("If-Modified-Since", later);
    EXPECT_EQ(get("/app.js", h).status, 304u);
  }
}

TEST_F(StaticFiles, StaleOrUnusableConditionsGive200) {
  for (const char* value : {"Thu, 02 Jan 2020 03:04:04 GMT", "Wed, 01 Jan 2020 00:00:00 GMT",
                            "yesterday", "Thu, 02 Jan 2020 03:04:05 UTC", ""}) {
    SCOPED_TRACE(value);
    Headers h;
    h.add("If-Modified-Since", value);
    expect_file(get("/app.js", h), root_ / "app.js");
  }
  // If-None-Match takes precedence; static files carry no ETag, so it never matches.
  Headers both;
  both.add("If-Modified-Since", kMtimeHttp);
  both.add("If-None-Match", "\"abc\"");
  expect_file(get("/app.js", both), root_ / "app.js");
}

TEST_F(StaticFiles, MissingOrEmptyRootAnswers404) {
  StaticFilesOptions missing;
  missing.root = base_ / "does-not-exist";
  auto r = get("/index.html", {}, "GET", missing);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(text(r), "not found\n");

  auto empty = make_static_files_handler(StaticFilesOptions{});
  EXPECT_EQ(call(empty, "/").status, 404u);
  EXPECT_EQ(call(empty, "/index.html").status, 404u);

  StaticFilesOptions file_root;
  file_root.root = root_ / "app.js";  // not a directory
  EXPECT_EQ(get("/", {}, "GET", file_root).status, 404u);
}

TEST_F(StaticFiles, RootThatIsASymlinkWorks) {
  fs::create_symlink(root_, base_ / "link-to-root");
  StaticFilesOptions opts;
  opts.root = base_ / "link-to-root";
  expect_file(get("/app.js", {}, "GET", opts), root_ / "app.js");
  EXPECT_EQ(get("/escape", {}, "GET", opts).status, 404u);
}

TEST_F(StaticFiles, LookupsOnAThreadPoolGiveTheSameAnswers) {
  asio::thread_pool pool(1);
  StaticFilesOptions opts;
  opts.root = root_;
  opts.pool = &pool;
  expect_file(get("/", {}, "GET", opts), root_ / "index.html");
  expect_file(get("/sub/deeper/file.txt", {}, "GET", opts), root_ / "sub" / "deeper" / "file.txt");
  EXPECT_EQ(get("/sub", {}, "GET", opts).status, 301u);
  EXPECT_EQ(get("/escape", {}, "GET", opts).status, 404u);
  EXPECT_EQ(get("/missing", {}, "GET", opts).status, 404u);
  pool.join();
}

}  // namespace
}  // namespace wasimoff::http
