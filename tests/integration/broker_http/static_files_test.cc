// Static files of the real broker (docs/http-api.md §9): index, redirects, MIME types, isolation
// headers, conditional requests, traversal attempts, dot-files and methods.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void expect_isolation_headers(const http::ClientResponse& r) {
  EXPECT_EQ(header(r, "Cross-Origin-Opener-Policy"), "same-origin");
  EXPECT_EQ(header(r, "Cross-Origin-Embedder-Policy"), "require-corp");
  EXPECT_EQ(header(r, "Cross-Origin-Resource-Policy"), "same-origin");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
}

// A broker serving a temporary tree (plus a secret file outside it, reachable by symlinks).
class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_.write("index.html", "<!doctype html><title>provider</title>");
    root_.write("sub/index.html", "<p>sub</p>");
    root_.write("sub/page.html", "<p>page</p>");
    root_.write("sub/.hidden", "hidden");
    root_.write(".secret", "dot file");
    root_.write(".git/config", "[core]");
    root_.write("empty/readme.txt", "no index here");
    outside_.write("secret.txt", "outside of the root");
    fs::create_symlink(outside_.file("secret.txt"), root_.file("escape.txt"));
    fs::create_symlink(outside_.path(), root_.file("escape-dir"));
    fs::create_symlink(root_.file("sub/page.html"), root_.file("inside-link.html"));
    fs::create_symlink(root_.file(".secret"), root_.file("to-dot.txt"));
    broker_ = std::make_unique<BrokerProcess>(
        std::map<std::string, std::string>{{"WASIMOFF_STATIC_FILES", root_.path()}});
  }

  http::ClientResponse get(const std::string& target, const http::Headers& headers = {}) {
    // One connection that sends the target verbatim (no client-side normalisation).
    HttpConnection conn(broker_->port());
    return conn.request("GET", target, headers);
  }

  TempDir root_;
  TempDir outside_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(StaticFiles, IndexAndHeaders) {
  auto r = get("/");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "<!doctype html><title>provider</title>");
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_FALSE(header(r, "Last-Modified").empty());
  EXPECT_THAT(header(r, "Server"), ::testing::StartsWith("wasimoff-broker/"));
  expect_isolation_headers(r);

  auto direct = get("/index.html");
  EXPECT_EQ(direct.status, 200u);
  EXPECT_EQ(header(direct, "Cache-Control"), "no-cache");

  auto page = get("/sub/page.html");
  EXPECT_EQ(page.status, 200u);
  EXPECT_FALSE(page.headers.has("Cache-Control"));
  expect_isolation_headers(page);

  auto head = http_request("HEAD", broker_->url("/sub/page.html"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(header(head, "Content-Length"), "11");
}

TEST_F(StaticFiles, DirectoryRedirectsAndIndex) {
  auto r = get("/sub");
  EXPECT_EQ(r.status, 301u);
  EXPECT_EQ(header(r, "Location"), "/sub/");
  expect_isolation_headers(r);
  auto q = get("/sub?x=1");
  EXPECT_EQ(q.status, 301u);
  EXPECT_EQ(header(q, "Location"), "/sub/?x=1");
  // Never a protocol-relative redirect.
  auto slashes = get("//sub");
  EXPECT_EQ(slashes.status, 301u);
  EXPECT_EQ(header(slashes, "Location"), "/sub/");

  auto index = get("/sub/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, "<p>sub</p>");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");

  // No index.html, no listing.
  auto empty = get("/empty/");
  EXPECT_EQ(empty.status, 404u);
  EXPECT_EQ(empty.body, "not found\n");
  EXPECT_THAT(empty.body, ::testing::Not(HasSubstr("readme")));
  // No SPA fallback.
  auto unknown = get("/some/client/route");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body, "not found\n");
  expect_isolation_headers(unknown);
  // A file with a trailing slash names no directory.
  EXPECT_EQ(get("/sub/page.html/").status, 404u);
}

TEST_F(StaticFiles, MimeTypes) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"a.html", "text/html; charset=utf-8"},
      {"a.htm", "text/html; charset=utf-8"},
      {"a.js", "text/javascript; charset=utf-8"},
      {"a.mjs", "text/javascript; charset=utf-8"},
      {"a.css", "text/css; charset=utf-8"},
      {"a.wasm", "application/wasm"},
      {"a.json", "application/json"},
      {"a.map", "application/json"},
      {"a.svg", "image/svg+xml"},
      {"a.png", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.jpeg", "image/jpeg"},
      {"a.gif", "image/gif"},
      {"a.webp", "image/webp"},
      {"a.ico", "image/x-icon"},
      {"a.woff", "font/woff"},
      {"a.woff2", "font/woff2"},
      {"a.ttf", "font/ttf"},
      {"a.txt", "text/plain; charset=utf-8"},
      {"a.zip", "application/zip"},
      {"a.xyz", "application/octet-stream"},
      {"noext", "application/octet-stream"},
      {"UPPER.JS", "text/javascript; charset=utf-8"},
  };
  for (const auto& [name, type] : table) root_.write("mime/" + name, "content of " + name);
  HttpConnection conn(broker_->port());
  for (const auto& [name, type] : table) {
    SCOPED_TRACE(name);
    auto r = conn.request("GET", "/mime/" + name);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), type);
    EXPECT_EQ(r.body, "content of " + name);
    expect_isolation_headers(r);
  }
}

TEST_F(StaticFiles, IfModifiedSince) {
  auto first = get("/sub/page.html");
  ASSERT_EQ(first.status, 200u);
  const std::string last_modified = header(first, "Last-Modified");
  ASSERT_THAT(last_modified, ::testing::EndsWith(" GMT"));

  auto same = get("/sub/page.html", hdrs({{"If-Modified-Since", last_modified}}));
  EXPECT_EQ(same.status, 304u);
  EXPECT_EQ(same.body, "");
  expect_isolation_headers(same);
  auto later =
      get("/sub/page.html", hdrs({{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}}));
  EXPECT_EQ(later.status, 304u);
  auto older =
      get("/sub/page.html", hdrs({{"If-Modified-Since", "Thu, 01 Jan 1998 00:00:00 GMT"}}));
  EXPECT_EQ(older.status, 200u);
  EXPECT_EQ(older.body, "<p>page</p>");
  auto garbage = get("/sub/page.html", hdrs({{"If-Modified-Since", "yesterday"}}));
  EXPECT_EQ(garbage.status, 200u);

  // Modified after the date → served again.
  root_.write("sub/page.html", "<p>page v2</p>");
  auto future = fs::file_time_type::clock::now() + std::chrono::hours(1);
  fs::last_write_time(root_.file("sub/page.html"), future);
  auto changed = get("/sub/page.html", hdrs({{"If-Modified-Since", last_modified}}));
  EXPECT_EQ(changed.status, 200u);
  EXPECT_EQ(changed.body, "<p>page v2</p>");
}

TEST_F(StaticFiles, TraversalAttemptsAreRejected) {
  // 400: a '..' segment (raw or encoded), NUL, backslash.
  for (const char* target :
       {"/../etc/passwd", "/sub/../../etc/passwd", "/%2e%2e/etc/passwd",
        "/%2E%2E/%2e%2e/etc/passwd", "/sub/%2e%2e/index.html", "/..%2fetc%2fpasswd",
        "/index.html%00.txt", "/%00", "/sub%5c..%5cindex.html", "/sub%5cpage.html"}) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("root:")));
  }
  // 404: symlinks that leave the root, dot-files (also through a symlink), malformed escapes
  // must not reveal anything either.
  for (const char* target : {"/escape.txt", "/escape-dir/secret.txt", "/escape-dir/", "/.secret",
                             "/.git/config", "/sub/.hidden", "/%2esecret", "/to-dot.txt", "/."}) {
    SCOPED_TRACE(target);
    auto r = get(target);
    EXPECT_EQ(r.status, 404u) << r.body;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("outside of the root")));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("dot file")));
  }
  EXPECT_EQ(get("/bad%zzescape").status, 400u);
  // A symlink that stays inside the root is fine.
  auto inside = get("/inside-link.html");
  EXPECT_EQ(inside.status, 200u);
  EXPECT_EQ(inside.body, "<p>page</p>");
  // A raw backslash is either refused by the parser or by the handler: never served.
  auto raw = raw_exchange(broker_->port(),
                          "GET /sub\\page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw_status(raw), 400u) << raw;
}

TEST_F(StaticFiles, WrongMethodsAre405WithAllow) {
  HttpConnection conn(broker_->port());
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    SCOPED_TRACE(method);
    auto r = conn.request(
        method, "/index.html",
        method == std::string("OPTIONS")
            ? hdrs({{"Origin", "http://x.example"}, {"Access-Control-Request-Method", "GET"}})
            : http::Headers{});
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
    EXPECT_FALSE(r.headers.has("Access-Control-Allow-Origin"));
  }
  EXPECT_EQ(conn.request("POST", "/does/not/exist").status, 405u);
}

TEST(StaticFilesConfig, UnsetDefaultMissingAnswers404AndExplicitMissingFailsStartup) {
  // An explicitly configured directory that does not exist → configuration error at startup.
  TempDir dir;
  auto r =
      run_broker({}, {{"WASIMOFF_STATIC_FILES", dir.file("missing")},
                      {"WASIMOFF_HTTP_LISTEN", "127.0.0.1:" + std::to_string(free_tcp_port())}});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, ::testing::StartsWith(
                         "wasimoff-broker: configuration error: WASIMOFF_STATIC_FILES=\"" +
                         dir.file("missing") + "\": "));
  // A file instead of a directory as well.
  dir.write("file", "x");
  auto f =
      run_broker({}, {{"WASIMOFF_STATIC_FILES", dir.file("file")},
                      {"WASIMOFF_HTTP_LISTEN", "127.0.0.1:" + std::to_string(free_tcp_port())}});
  EXPECT_EQ(f.status, 2);

  // Unset: the build's default directory. Where it is not built, the broker still starts,
  // warns, and answers 404 (docs/configuration.md §5.4); where it is, it serves its index.
  BrokerProcess broker;
  const auto log = broker.process().stderr_text();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("WASIMOFF_STATIC_FILES=(.*) \\(default\\)")))
      << log;
  const std::string default_dir = m[1];
  auto index = http_get(broker.url("/"));
  if (fs::is_directory(default_dir)) {
    EXPECT_EQ(index.status, fs::exists(default_dir + "/index.html") ? 200u : 404u);
  } else {
    EXPECT_EQ(index.status, 404u);
    EXPECT_EQ(index.body, "not found\n");
    EXPECT_THAT(log, HasSubstr("not built"));
    // Warned once, not twice.
    EXPECT_EQ(log.find("not built"), log.rfind("not built")) << log;
  }
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
