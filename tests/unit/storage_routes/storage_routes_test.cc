// POST /api/storage/upload and GET|HEAD /api/storage/{ref-or-name} (docs/http-api.md §3, §6),
// dispatched through a real Router inside an io_context.
#include "broker/api/storage_routes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/storage/directory_storage.h"
#include "broker/storage/memory_storage.h"
#include "common/file_ref.h"
#include "common/strings.h"

namespace wasimoff::broker {
namespace {

namespace fs = std::filesystem;

std::string wasm(const std::string& payload = "") {
  return std::string("\0asm\x01\0\0\0", 8) + payload;
}

// Fails on purpose: writes (fail_writes) or reads (fail_reads).
class FailingStorage final : public FileStorage {
 public:
  bool fail_writes = false;
  bool fail_reads = false;
  std::string description() const override { return "failing storage"; }

 protected:
  void put_blob(const FileInfo&, std::string&&) override {
    if (fail_writes) throw StorageError("disk on fire");
  }
  void put_alias(const std::string&, const std::string&) override {}
  std::shared_ptr<const std::string> get_blob(const FileInfo&) const override {
    if (fail_reads) throw StorageError("disk on fire");
    return std::make_shared<const std::string>();
  }
};

// The whole response body as text, whatever the representation.
std::string body_text(const http::Response& r) {
  if (auto* s = std::get_if<std::string>(&r.body)) return *s;
  if (auto* b = std::get_if<http::SharedBytes>(&r.body))
    return b->data->substr(b->offset, b->length);
  const auto& f = std::get<http::FileRange>(r.body);
  std::ifstream in(f.path, std::ios::binary);
  std::ostringstream all;
  all << in.rdbuf();
  return all.str().substr(f.offset, f.length);
}

std::string header(const http::Response& r, std::string_view name) {
  auto value = r.headers.get(name);
  return value ? std::string(*value) : std::string("(absent)");
}

class StorageRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { install(storage_); }

  // (Re-)builds the router around `storage` with the current options.
  void install(FileStorage& storage) {
    router_ = http::Router();
    register_storage_routes(router_, {storage, pool_, max_upload_, access_});
  }

  static http::Request make(std::string method, std::string target) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.authority = "broker.local:4080";
    r.scheme = "http";
    r.version = "HTTP/1.1";
    r.remote = "127.0.0.1:50000";
    return r;
  }

  http::Response dispatch(http::Request request) {
    boost::asio::io_context io;
    http::RequestContext context(io.get_executor());
    std::optional<http::Response> response;
    boost::asio::co_spawn(
        io, [&]() -> awaitable<void> { response = co_await router_.dispatch(request, context); },
        boost::asio::detached);
    io.run();
    if (!response) throw std::runtime_error("dispatch did not complete");
    return std::move(*response);
  }

  http::Response upload(std::string body, std::string query = "") {
    auto r = make("POST", "/api/storage/upload" + (query.empty() ? "" : "?" + query));
    r.body = std::move(body);
    return dispatch(std::move(r));
  }

  http::Response get(std::string target, std::vector<http::Headers::Entry> headers = {},
                     std::string method = "GET") {
    auto r = make(std::move(method), std::move(target));
    for (auto& [k, v] : headers) r.headers.add(k, v);
    return dispatch(std::move(r));
  }

  boost::asio::thread_pool pool_{2};
  MemoryStorage storage_;
  AccessPolicy access_{"", "", {"localhost:5173"}};
  std::uint64_t max_upload_ = 1024;
  http::Router router_;
};

// ---------------------------------------------------------------------------------- upload

TEST_F(StorageRoutesTest, UploadStoresAndAnswersWithTheRef) {
  auto r = upload(wasm("hello"), "name=hello.wasm");
  auto ref = make_ref(wasm("hello"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(body_text(r), ref + "\n");
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(r, "x-wasimoff-ref"), ref);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "(absent)");  // no Origin, no CORS

  ASSERT_TRUE(storage_.resolve("hello.wasm"));
  EXPECT_EQ(storage_.resolve("hello.wasm")->ref, ref);

  // Same content again: same answer; another upload under the name re-points it.
  EXPECT_EQ(body_text(upload(wasm("hello"))), ref + "\n");
  auto r2 = upload(wasm("hello v2"), "name=hello.wasm");
  EXPECT_EQ(r2.status, 200u);
  EXPECT_EQ(storage_.resolve("hello.wasm")->ref, header(r2, "x-wasimoff-ref"));
  EXPECT_EQ(storage_.list().size(), 2u);
}

TEST_F(StorageRoutesTest, UploadSniffsAndIgnoresContentType) {
  auto request = make("POST", "/api/storage/upload");
  request.headers.add("Content-Type", "text/plain");
  request.body = std::string("PK\x05\x06", 4) + std::string(18, '\0');
  auto r = dispatch(std::move(request));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(storage_.resolve(header(r, "x-wasimoff-ref"))->media, "application/zip");
}

TEST_F(StorageRoutesTest, UploadRejectsOtherFileTypes) {
  for (std::string body : {std::string("hello world"), std::string(),
                           std::string("\x7f"
                                       "ELF")}) {
    auto r = upload(body, "name=x");
    EXPECT_EQ(r.status, 415u);
    EXPECT_EQ(body_text(r), "unsupported filetype\n");
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
  }
  EXPECT_TRUE(storage_.list().empty());
  EXPECT_FALSE(storage_.exists("x"));
}

TEST_F(StorageRoutesTest, UploadLargerThanTheLimitIs413) {
  auto at_limit = upload(wasm(std::string(max_upload_ - 8, 'a')));
  EXPECT_EQ(at_limit.status, 200u);
  auto r = upload(wasm(std::string(max_upload_ - 7, 'a')));
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(body_text(r), "file too large\n");
  EXPECT_EQ(storage_.list().size(), 1u);
}

TEST_F(StorageRoutesTest, UploadWithAnInvalidNameIs400) {
  for (std::string query :
       std::vector<std::string>{"name=", "name=a%2Fb", "name=sha256:abc", "name=a%01b",
                                "name=bad%zz", "name=" + std::string(256, 'n'), "name=%FF"}) {
    auto r = upload(wasm("named"), query);
    EXPECT_EQ(r.status, 400u) << query;
    EXPECT_EQ(body_text(r), "invalid name\n") << query;
  }
  EXPECT_TRUE(storage_.list().empty());
  // '+' is a space in query strings; other characters are fine.
  EXPECT_EQ(upload(wasm("named"), "name=my+file%20v1.wasm").status, 200u);
  EXPECT_TRUE(storage_.exists("my file v1.wasm"));
}

TEST_F(StorageRoutesTest, UploadStorageFailureIs500) {
  FailingStorage failing;
  failing.fail_writes = true;
  install(failing);
  auto r = upload(wasm("doomed"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(body_text(r), "inserting file in storage failed\n");
}

TEST_F(StorageRoutesTest, UploadNeedsTheClientToken) {
  access_ = AccessPolicy("client-token", "provider-token", {});
  install(storage_);

  auto none = upload(wasm());
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(body_text(none), "unauthorized\n");

  auto wrong = make("POST", "/api/storage/upload");
  wrong.headers.add("Authorization", "Bearer provider-token");  // downloads only
  wrong.body = wasm();
  EXPECT_EQ(dispatch(std::move(wrong)).status, 401u);

  auto by_header = make("POST", "/api/storage/upload");
  by_header.headers.add("Authorization", "Bearer client-token");
  by_header.body = wasm();
  EXPECT_EQ(dispatch(std::move(by_header)).status, 200u);
  EXPECT_EQ(upload(wasm("q"), "token=client-token&name=q").status, 200u);
  EXPECT_TRUE(storage_.exists("q"));
}

TEST_F(StorageRoutesTest, UploadCorsForAllowedAndRejectedOrigins) {
  auto allowed = make("POST", "/api/storage/upload");
  allowed.headers.add("Origin", "http://localhost:5173");
  allowed.body = wasm();
  auto r = dispatch(std::move(allowed));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(header(r, "Vary"), "Origin");
  EXPECT_EQ(header(r, "Access-Control-Expose-Headers"), AccessPolicy::expose_headers());
  EXPECT_EQ(header(r, "Access-Control-Allow-Credentials"), "(absent)");

  auto same_host = make("POST", "/api/storage/upload");
  same_host.headers.add("Origin", "http://broker.local:4080");
  same_host.body = wasm();
  EXPECT_EQ(dispatch(std::move(same_host)).status, 200u);

  auto rejected = make("POST", "/api/storage/upload");
  rejected.headers.add("Origin", "https://evil.example");
  rejected.body = wasm("evil");
  auto denied = dispatch(std::move(rejected));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(body_text(denied), "origin not allowed\n");
  EXPECT_EQ(header(denied, "Access-Control-Allow-Origin"), "(absent)");
  EXPECT_FALSE(storage_.exists(make_ref(wasm("evil"))));

  // Errors of allowed origins stay readable by the page.
  auto bad_type = make("POST", "/api/storage/upload");
  bad_type.headers.add("Origin", "http://localhost:5173");
  bad_type.body = "text";
  auto r415 = dispatch(std::move(bad_type));
  EXPECT_EQ(r415.status, 415u);
  EXPECT_EQ(header(r415, "Access-Control-Allow-Origin"), "http://localhost:5173");
}

TEST_F(StorageRoutesTest, UploadPreflight) {
  access_ = AccessPolicy("client-token", "", {"localhost:5173"});
  install(storage_);

  auto preflight = make("OPTIONS", "/api/storage/upload?name=x");
  preflight.headers.add("Origin", "http://localhost:5173");
  preflight.headers.add("Access-Control-Request-Method", "POST");
  preflight.headers.add("Access-Control-Request-Headers", "authorization, content-type");
  auto r = dispatch(std::move(preflight));  // no token needed
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(body_text(r), "");
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(header(r, "Vary"), "Origin");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"), "authorization, content-type");
  EXPECT_EQ(header(r, "Access-Control-Max-Age"), "7200");
  EXPECT_EQ(header(r, "Access-Control-Allow-Credentials"), "(absent)");

  auto foreign = make("OPTIONS", "/api/storage/upload");
  foreign.headers.add("Origin", "https://evil.example");
  foreign.headers.add("Access-Control-Request-Method", "POST");
  auto denied = dispatch(std::move(foreign));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_EQ(header(denied, "Access-Control-Allow-Origin"), "(absent)");
  EXPECT_EQ(header(denied, "Access-Control-Allow-Methods"), "(absent)");
}

TEST_F(StorageRoutesTest, OtherMethodsOnTheUploadPathAre405) {
  auto r = dispatch(make("PUT", "/api/storage/upload"));
  EXPECT_EQ(r.status, 405u);
  EXPECT_NE(header(r, "Allow").find("POST"), std::string::npos);
}

// -------------------------------------------------------------------------------- download

TEST_F(StorageRoutesTest, DownloadByRefWithAllHeaders) {
  auto info = storage_.store(wasm("download me"), "dl.wasm");
  auto r = get("/api/storage/" + info.ref);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(body_text(r), wasm("download me"));
  EXPECT_EQ(r.body_size(), info.size);
  EXPECT_EQ(header(r, "Content-Type"), "application/wasm");
  EXPECT_EQ(header(r, "x-wasimoff-ref"), info.ref);
  EXPECT_EQ(header(r, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header(r, "ETag"), "\"" + info.ref + "\"");
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r, "Access-Control-Expose-Headers"), AccessPolicy::expose_headers());
  EXPECT_EQ(header(r, "Cross-Origin-Resource-Policy"), "cross-origin");
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  // The bytes are shared with the storage, not copied.
  auto* shared = std::get_if<http::SharedBytes>(&r.body);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->data, storage_.read(info.ref));
}

TEST_F(StorageRoutesTest, DownloadByUpperCaseRefIsNormalised) {
  auto info = storage_.store(wasm("case"));
  auto r = get("/api/storage/sha256:" + to_upper(info.ref.substr(7)));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "x-wasimoff-ref"), info.ref);
  EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(StorageRoutesTest, DownloadByAliasIsNotCachedForever) {
  auto zip = std::string("PK\x03\x04", 4) + "archive";
  auto info = storage_.store(zip, "my root.zip");
  auto r = get("/api/storage/my%20root.zip");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(body_text(r), zip);
  EXPECT_EQ(header(r, "Content-Type"), "application/zip");
  EXPECT_EQ(header(r, "x-wasimoff-ref"), info.ref);
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "ETag"), "\"" + info.ref + "\"");
}

TEST_F(StorageRoutesTest, DownloadOfTheAliasNamedUpload) {
  storage_.store(wasm("called upload"), "upload");
  auto r = get("/api/storage/upload");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(body_text(r), wasm("called upload"));
}

TEST_F(StorageRoutesTest, DownloadOfUnknownFilesIs404) {
  storage_.store(wasm("exists"), "exists");
  for (std::string path : std::vector<std::string>{
           "/api/storage/nope.wasm", "/api/storage/sha256:" + std::string(64, '0'), "/api/storage/",
           "/api/storage/exists/more", "/api/storage/bad%zz", "/api/storage/Exists"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(body_text(r), "file not found in storage\n") << path;
    EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*") << path;
  }
}

TEST_F(StorageRoutesTest, HeadHasTheHeadersAndFullLength) {
  auto info = storage_.store(wasm("head"), "head.wasm");
  auto r = get("/api/storage/head.wasm", {}, "HEAD");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body_size(), info.size);  // the server derives Content-Length from it
  EXPECT_EQ(header(r, "x-wasimoff-ref"), info.ref);
  EXPECT_EQ(header(r, "Content-Type"), "application/wasm");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
}

TEST_F(StorageRoutesTest, IfNoneMatchGives304) {
  auto info = storage_.store(wasm("etag"), "etag.wasm");
  std::string etag = "\"" + info.ref + "\"";
  for (std::string value : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    auto r = get("/api/storage/" + info.ref, {{"If-None-Match", value}});
    EXPECT_EQ(r.status, 304u) << value;
    EXPECT_EQ(r.body_size(), 0u);
    EXPECT_EQ(header(r, "ETag"), etag);
    EXPECT_EQ(header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  }
  auto r = get("/api/storage/etag.wasm", {{"If-None-Match", "\"sha256:other\""}});
  EXPECT_EQ(r.status, 200u);
}

TEST_F(StorageRoutesTest, SingleRanges) {
  std::string bytes = wasm("0123456789");  // 18 bytes
  auto info = storage_.store(bytes);
  auto range = [&](std::string value) {
    return get("/api/storage/" + info.ref, {{"Range", value}});
  };

  auto first4 = range("bytes=0-3");
  EXPECT_EQ(first4.status, 206u);
  EXPECT_EQ(body_text(first4), bytes.substr(0, 4));
  EXPECT_EQ(header(first4, "Content-Range"), "bytes 0-3/18");
  EXPECT_EQ(header(first4, "Content-Type"), "application/wasm");
  EXPECT_EQ(header(first4, "ETag"), "\"" + info.ref + "\"");

  auto from8 = range("bytes=8-");
  EXPECT_EQ(from8.status, 206u);
  EXPECT_EQ(body_text(from8), "0123456789");
  EXPECT_EQ(header(from8, "Content-Range"), "bytes 8-17/18");

  auto last3 = range("bytes=-3");
  EXPECT_EQ(last3.status, 206u);
  EXPECT_EQ(body_text(last3), "789");
  EXPECT_EQ(header(last3, "Content-Range"), "bytes 15-17/18");

  auto clamped = range("bytes=10-99999999999999999999999");
  EXPECT_EQ(clamped.status, 206u);
  EXPECT_EQ(header(clamped, "Content-Range"), "bytes 10-17/18");

  auto longer_suffix = range("bytes=-100");
  EXPECT_EQ(longer_suffix.status, 206u);
  EXPECT_EQ(header(longer_suffix, "Content-Range"), "bytes 0-17/18");

  auto last_byte = range("bytes=17-17");
  EXPECT_EQ(last_byte.status, 206u);
  EXPECT_EQ(body_text(last_byte), "9");
}

TEST_F(StorageRoutesTest, UnsatisfiableRangesAre416) {
  auto info = storage_.store(wasm("0123456789"));
  for (std::string value :
       {"bytes=18-", "bytes=18-20", "bytes=-0", "bytes=99999999999999999999-"}) {
    auto r = get("/api/storage/" + info.ref, {{"Range", value}});
    EXPECT_EQ(r.status, 416u) << value;
    EXPECT_EQ(header(r, "Content-Range"), "bytes */18") << value;
  }
}

TEST_F(StorageRoutesTest, MultipleOrMalformedRangesGiveTheWholeFile) {
  std::string bytes = wasm("0123456789");
  auto info = storage_.store(bytes);
  for (std::string value : {"bytes=0-1,4-5", "bytes=abc", "items=0-3", "bytes=5-2", "bytes 0-3",
                            "bytes=-", "bytes=1-2-3", "bytes=0x1-2"}) {
    auto r = get("/api/storage/" + info.ref, {{"Range", value}});
    EXPECT_EQ(r.status, 200u) << value;
    EXPECT_EQ(body_text(r), bytes) << value;
    EXPECT_EQ(header(r, "Content-Range"), "(absent)") << value;
  }
  auto two_headers =
      get("/api/storage/" + info.ref, {{"Range", "bytes=0-1"}, {"Range", "bytes=2-3"}});
  EXPECT_EQ(two_headers.status, 200u);
}

TEST_F(StorageRoutesTest, IfRangeWithAnotherValidatorGivesTheWholeFile) {
  auto info = storage_.store(wasm("0123456789"));
  std::string etag = "\"" + info.ref + "\"";
  EXPECT_EQ(get("/api/storage/" + info.ref, {{"Range", "bytes=0-3"}, {"If-Range", etag}}).status,
            206u);
  EXPECT_EQ(
      get("/api/storage/" + info.ref, {{"Range", "bytes=0-3"}, {"If-Range", "\"old\""}}).status,
      200u);
}

TEST_F(StorageRoutesTest, DownloadAuthAcceptsEitherToken) {
  access_ = AccessPolicy("client-token", "provider-token", {});
  install(storage_);
  auto info = storage_.store(wasm("secret"));
  std::string path = "/api/storage/" + info.ref;

  auto none = get(path);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(header(none, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(get(path, {{"Authorization", "Bearer wrong"}}).status, 401u);
  EXPECT_EQ(get(path, {{"Authorization", "Bearer client-token"}}).status, 200u);
  EXPECT_EQ(get(path, {{"Authorization", "Bearer provider-token"}}).status, 200u);
  EXPECT_EQ(get(path + "?token=provider-token").status, 200u);
  EXPECT_EQ(get("/api/storage/unknown?token=client-token").status, 404u);

  // Open as soon as one of the tokens is unset.
  access_ = AccessPolicy("client-token", "", {});
  install(storage_);
  EXPECT_EQ(get(path).status, 200u);
}

TEST_F(StorageRoutesTest, DownloadPreflightIsPublic) {
  access_ = AccessPolicy("client-token", "provider-token", {});
  install(storage_);
  auto preflight = make("OPTIONS", "/api/storage/anything");
  preflight.headers.add("Origin", "https://elsewhere.example");
  preflight.headers.add("Access-Control-Request-Method", "GET");
  preflight.headers.add("Access-Control-Request-Headers", "range, authorization");
  auto r = dispatch(std::move(preflight));
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"), "range, authorization");
  EXPECT_EQ(header(r, "Access-Control-Max-Age"), "7200");

  // A read preflight on the upload path (alias "upload") follows the public policy too.
  auto upload_read = make("OPTIONS", "/api/storage/upload");
  upload_read.headers.add("Origin", "https://elsewhere.example");
  upload_read.headers.add("Access-Control-Request-Method", "GET");
  EXPECT_EQ(dispatch(std::move(upload_read)).status, 204u);
}

TEST_F(StorageRoutesTest, DownloadFromADirectoryStreamsTheBlobFile) {
  auto base = (fs::temp_directory_path() / "wasimoff-routes-XXXXXX").string();
  ASSERT_NE(::mkdtemp(base.data()), nullptr);
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() { fs::remove_all(dir); }
  } cleanup{base};
  {
    DirectoryStorage directory(base);
    install(directory);
    auto stored = upload(wasm("on disk"), "name=disk.wasm");
    ASSERT_EQ(stored.status, 200u);
    auto ref = header(stored, "x-wasimoff-ref");

    auto r = get("/api/storage/disk.wasm");
    EXPECT_EQ(r.status, 200u);
    auto* file = std::get_if<http::FileRange>(&r.body);
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(fs::path(file->path), fs::path(base) / "blobs" / ref.substr(7));
    EXPECT_EQ(body_text(r), wasm("on disk"));

    auto part = get("/api/storage/disk.wasm", {{"Range", "bytes=8-9"}});
    EXPECT_EQ(part.status, 206u);
    EXPECT_EQ(body_text(part), "on");
    EXPECT_EQ(header(part, "Content-Range"), "bytes 8-9/15");
  }
}

TEST_F(StorageRoutesTest, DownloadReadFailureIs500) {
  FailingStorage failing;
  auto info = failing.store(wasm("unreadable"));
  failing.fail_reads = true;
  install(failing);
  auto r = get("/api/storage/" + info.ref);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(body_text(r), "reading file from storage failed\n");
}

}  // namespace
}  // namespace wasimoff::broker
