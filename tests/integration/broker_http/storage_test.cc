// Storage routes of the real broker (docs/http-api.md §6, §3, docs/configuration.md §5.2): uploads,
// aliases, downloads with HEAD / Range / ETag, limits, tokens, CORS and persistence across
// restarts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "broker_http_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing::broker_http {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::string_view kExpose =
    "x-wasimoff-ref, X-Wasimoff-Task-Id, X-Wasimoff-Provider, X-Wasimoff-Result, "
    "X-Wasimoff-Status, X-Wasimoff-Artifacts, X-Wasimoff-Error-Code, Content-Length, "
    "Content-Range, ETag";

std::string upper_hex_ref(const std::string& ref) {
  std::string out = "sha256:";
  for (char c : ref.substr(7))
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

TEST(Storage, UploadWasmAndDownloadByRefAndAlias) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes("module one");
  const std::string ref = ref_of(wasm);

  auto up = upload(broker, wasm, "hello.wasm", hdrs({{"Content-Type", "text/html"}}));
  ASSERT_EQ(up.status, 200u) << up.body;
  EXPECT_EQ(header(up, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(up, "x-wasimoff-ref"), ref);
  EXPECT_EQ(up.body, ref + "\n");

  auto by_ref = http_get(broker.url("/api/storage/" + ref));
  ASSERT_EQ(by_ref.status, 200u);
  EXPECT_EQ(by_ref.body, wasm);
  EXPECT_EQ(header(by_ref, "Content-Type"), "application/wasm");  // sniffed, not the request's
  EXPECT_EQ(header(by_ref, "Content-Length"), std::to_string(wasm.size()));
  EXPECT_EQ(header(by_ref, "x-wasimoff-ref"), ref);
  EXPECT_EQ(header(by_ref, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header(by_ref, "ETag"), "\"" + ref + "\"");
  EXPECT_EQ(header(by_ref, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(by_ref, "Access-Control-Expose-Headers"), kExpose);
  EXPECT_EQ(header(by_ref, "Cross-Origin-Resource-Policy"), "cross-origin");
  EXPECT_EQ(header(by_ref, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_FALSE(by_ref.headers.has("Access-Control-Allow-Credentials"));

  auto by_alias = http_get(broker.url("/api/storage/hello.wasm"));
  ASSERT_EQ(by_alias.status, 200u);
  EXPECT_EQ(by_alias.body, wasm);
  EXPECT_EQ(header(by_alias, "x-wasimoff-ref"), ref);
  EXPECT_EQ(header(by_alias, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(by_alias, "ETag"), "\"" + ref + "\"");

  // Ref hex is case-insensitive and normalised.
  auto upper = http_get(broker.url("/api/storage/" + upper_hex_ref(ref)));
  EXPECT_EQ(upper.status, 200u);
  EXPECT_EQ(upper.body, wasm);
  EXPECT_EQ(header(upper, "x-wasimoff-ref"), ref);

  // A percent-encoded alias is decoded.
  ASSERT_EQ(upload(broker, wasm, "my%20module.wasm").status, 200u);
  auto spaced = http_get(broker.url("/api/storage/my%20module.wasm"));
  EXPECT_EQ(spaced.status, 200u);
  EXPECT_EQ(spaced.body, wasm);
}

TEST(Storage, UploadZipAndEmptyZip) {
  BrokerProcess broker;
  for (const auto& [alias, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"fs.zip", zip_bytes("dir/file.txt", "content\n")}, {"empty.zip", empty_zip_bytes()}}) {
    SCOPED_TRACE(alias);
    auto up = upload(broker, bytes, alias);
    ASSERT_EQ(up.status, 200u) << up.body;
    EXPECT_EQ(up.body, ref_of(bytes) + "\n");
    auto down = http_get(broker.url("/api/storage/" + alias));
    ASSERT_EQ(down.status, 200u);
    EXPECT_EQ(header(down, "Content-Type"), "application/zip");
    EXPECT_EQ(down.body, bytes);
  }
}

TEST(Storage, ReuploadRepointsAliasAndIdenticalContentKeepsItsRef) {
  BrokerProcess broker;
  const std::string v1 = wasm_bytes("version 1"), v2 = wasm_bytes("version 2");
  ASSERT_EQ(upload(broker, v1, "app.wasm").status, 200u);
  EXPECT_EQ(http_get(broker.url("/api/storage/app.wasm")).body, v1);
  ASSERT_EQ(upload(broker, v2, "app.wasm").status, 200u);
  auto now = http_get(broker.url("/api/storage/app.wasm"));
  EXPECT_EQ(now.body, v2);
  EXPECT_EQ(header(now, "x-wasimoff-ref"), ref_of(v2));
  // The old content stays reachable by its ref.
  EXPECT_EQ(http_get(broker.url("/api/storage/" + ref_of(v1))).body, v1);
  // Uploading identical content again (without alias) answers the same ref.
  auto again = upload(broker, v1);
  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.body, ref_of(v1) + "\n");
  // And the alias still points at v2.
  EXPECT_EQ(http_get(broker.url("/api/storage/app.wasm")).body, v2);
}

TEST(Storage, HeadHasHeadersButNoBody) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes(std::string(1000, 'h'));
  ASSERT_EQ(upload(broker, wasm, "head.wasm").status, 200u);
  auto head = http_request("HEAD", broker.url("/api/storage/head.wasm"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(header(head, "Content-Length"), std::to_string(wasm.size()));
  EXPECT_EQ(header(head, "Content-Type"), "application/wasm");
  EXPECT_EQ(header(head, "ETag"), "\"" + ref_of(wasm) + "\"");

  // On one connection: a HEAD must not leave body bytes that would corrupt the next response.
  HttpConnection conn(broker.port());
  auto h = conn.request("HEAD", "/api/storage/head.wasm");
  EXPECT_EQ(h.status, 200u);
  auto g = conn.request("GET", "/api/storage/head.wasm");
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.body, wasm);
}

TEST(Storage, RangeRequests) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes("0123456789");  // 18 bytes
  const auto size = std::to_string(wasm.size());
  const std::string ref = ref_of(wasm);
  ASSERT_EQ(upload(broker, wasm).status, 200u);
  auto get_range = [&](const std::string& range) {
    return http_get(broker.url("/api/storage/" + ref), hdrs({{"Range", range}}));
  };

  auto first = get_range("bytes=0-3");
  EXPECT_EQ(first.status, 206u);
  EXPECT_EQ(first.body, wasm.substr(0, 4));
  EXPECT_EQ(header(first, "Content-Range"), "bytes 0-3/" + size);
  EXPECT_EQ(header(first, "Content-Length"), "4");
  EXPECT_EQ(header(first, "ETag"), "\"" + ref + "\"");

  auto open_end = get_range("bytes=10-");
  EXPECT_EQ(open_end.status, 206u);
  EXPECT_EQ(open_end.body, wasm.substr(10));
  EXPECT_EQ(header(open_end, "Content-Range"), "bytes 10-17/" + size);

  auto suffix = get_range("bytes=-3");
  EXPECT_EQ(suffix.status, 206u);
  EXPECT_EQ(suffix.body, "789");
  EXPECT_EQ(header(suffix, "Content-Range"), "bytes 15-17/" + size);

  auto clipped = get_range("bytes=16-1000");
  EXPECT_EQ(clipped.status, 206u);
  EXPECT_EQ(clipped.body, "89");

  auto beyond = get_range("bytes=18-");
  EXPECT_EQ(beyond.status, 416u);
  EXPECT_EQ(header(beyond, "Content-Range"), "bytes */" + size);

  for (const char* whole : {"bytes=0-1,4-5", "bytes=x-y", "lines=0-1", "bytes=5-2"}) {
    SCOPED_TRACE(whole);
    auto r = get_range(whole);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, wasm);
    EXPECT_FALSE(r.headers.has("Content-Range"));
  }
}

TEST(Storage, EtagAndIfNoneMatch) {
  BrokerProcess broker;
  const std::string wasm = wasm_bytes("etag");
  const std::string etag = "\"" + ref_of(wasm) + "\"";
  ASSERT_EQ(upload(broker, wasm, "e.wasm").status, 200u);
  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    SCOPED_TRACE(inm);
    auto r = http_get(broker.url("/api/storage/e.wasm"), hdrs({{"If-None-Match", inm}}));
    EXPECT_EQ(r.status, 304u);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(header(r, "ETag"), etag);
  }
  auto miss = http_get(broker.url("/api/storage/e.wasm"), hdrs({{"If-None-Match", "\"nope\""}}));
  EXPECT_EQ(miss.status, 200u);
  EXPECT_EQ(miss.body, wasm);
}

TEST(Storage, UploadErrors) {
  BrokerProcess broker(Env{{"WASIMOFF_MAX_UPLOAD_SIZE", "1KiB"}});
  // 415: neither wasm nor zip.
  auto text = upload(broker, "hello, world");
  EXPECT_EQ(text.status, 415u);
  EXPECT_EQ(text.body, "unsupported filetype\n");
  EXPECT_EQ(header(text, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(upload(broker, "").status, 415u);

  // 413 above WASIMOFF_MAX_UPLOAD_SIZE; exactly the limit is fine.
  auto at_limit = upload(broker, wasm_bytes(std::string(1024 - 8, 'a')));
  EXPECT_EQ(at_limit.status, 200u) << at_limit.body;
  auto too_large = upload(broker, wasm_bytes(std::string(1024 - 7, 'a')));
  EXPECT_EQ(too_large.status, 413u);
  EXPECT_EQ(too_large.body, "file too large\n");

  // 400 invalid names.
  for (const std::string& name :
       {std::string("a%2Fb"), std::string(""), std::string("sha256:abc"), std::string("x%01y"),
        std::string(256, 'n'), std::string("bad%zz")}) {
    SCOPED_TRACE(name);
    auto r = http_request("POST", broker.url("/api/storage/upload?name=" + name), {}, wasm_bytes());
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.body, "invalid name\n");
  }
  EXPECT_EQ(upload(broker, wasm_bytes(), std::string(255, 'n')).status, 200u);

  // 404 unknown ref / alias.
  for (const std::string& what : {"sha256:" + std::string(64, 'a'), std::string("nothing.wasm")}) {
    auto r = http_get(broker.url("/api/storage/" + what));
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, "file not found in storage\n");
  }
  // GET on the upload path is a download of the alias "upload" (absent here).
  EXPECT_EQ(http_get(broker.url("/api/storage/upload")).status, 404u);
  // Wrong method on the download route.
  auto del = http_request("DELETE", broker.url("/api/storage/nothing.wasm"));
  EXPECT_EQ(del.status, 405u);
  EXPECT_THAT(header(del, "Allow"), HasSubstr("GET"));
}

TEST(Storage, ClientTokenProtectsUploadButNotDownload) {
  BrokerProcess broker(Env{{"WASIMOFF_CLIENT_TOKEN", "s3cret-token"}});
  const std::string wasm = wasm_bytes("tokens");
  auto none = upload(broker, wasm);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(header(none, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(none.body, "unauthorized\n");
  EXPECT_EQ(upload(broker, wasm, "", hdrs({{"Authorization", "Bearer wrong"}})).status, 401u);
  EXPECT_EQ(upload(broker, wasm, "", hdrs({{"Authorization", "Basic s3cret-token"}})).status, 401u);

  auto with_header =
      upload(broker, wasm, "t.wasm", hdrs({{"Authorization", "Bearer s3cret-token"}}));
  EXPECT_EQ(with_header.status, 200u);
  auto with_query = http_request(
      "POST", broker.url("/api/storage/upload?token=s3cret-token&name=q.wasm"), {}, wasm);
  EXPECT_EQ(with_query.status, 200u);
  EXPECT_EQ(http_request("POST", broker.url("/api/storage/upload?token=wrong"), {}, wasm).status,
            401u);

  // The provider token is unset, so downloads are open (docs/http-api.md §1, "D").
  EXPECT_EQ(http_get(broker.url("/api/storage/q.wasm")).status, 200u);
  // Preflights never need a token.
  auto pre = http_request("OPTIONS", broker.url("/api/storage/upload"),
                          hdrs({{"Origin", "http://127.0.0.1:" + std::to_string(broker.port())},
                                {"Access-Control-Request-Method", "POST"}}));
  EXPECT_EQ(pre.status, 204u);
}

TEST(Storage, DownloadNeedsEitherTokenWhenBothAreSet) {
  BrokerProcess broker(
      {{"WASIMOFF_CLIENT_TOKEN", "client-t"}, {"WASIMOFF_PROVIDER_TOKEN", "provider-t"}});
  const std::string wasm = wasm_bytes("both");
  ASSERT_EQ(upload(broker, wasm, "b.wasm", hdrs({{"Authorization", "Bearer client-t"}})).status,
            200u);
  // The provider token does not allow uploads.
  EXPECT_EQ(upload(broker, wasm, "", hdrs({{"Authorization", "Bearer provider-t"}})).status, 401u);

  auto anonymous = http_get(broker.url("/api/storage/b.wasm"));
  EXPECT_EQ(anonymous.status, 401u);
  EXPECT_EQ(header(anonymous, "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(
      http_get(broker.url("/api/storage/b.wasm"), hdrs({{"Authorization", "Bearer client-t"}}))
          .status,
      200u);
  EXPECT_EQ(
      http_get(broker.url("/api/storage/b.wasm"), hdrs({{"Authorization", "Bearer provider-t"}}))
          .status,
      200u);
  EXPECT_EQ(http_get(broker.url("/api/storage/b.wasm?token=provider-t")).body, wasm);
  EXPECT_EQ(http_get(broker.url("/api/storage/b.wasm?token=nope")).status, 401u);
  // A public-read preflight needs no token either.
  auto pre = http_request(
      "OPTIONS", broker.url("/api/storage/b.wasm"),
      hdrs({{"Origin", "https://x.example"}, {"Access-Control-Request-Method", "GET"}}));
  EXPECT_EQ(pre.status, 204u);
}

TEST(Storage, CorsOfUploadAndDownload) {
  BrokerProcess broker(Env{{"WASIMOFF_ALLOWED_ORIGINS", "*.allowed.example,localhost:5173"}});
  const std::string same = "http://127.0.0.1:" + std::to_string(broker.port());
  const std::string wasm = wasm_bytes("cors");

  // Client API preflight: allowed origins (same host, pattern) → 204 echoing the origin.
  for (const std::string& origin :
       {same, std::string("https://app.allowed.example"), std::string("http://localhost:5173")}) {
    SCOPED_TRACE(origin);
    auto pre =
        http_request("OPTIONS", broker.url("/api/storage/upload"),
                     hdrs({{"Origin", origin},
                           {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "content-type, authorization"}}));
    EXPECT_EQ(pre.status, 204u);
    EXPECT_EQ(header(pre, "Access-Control-Allow-Origin"), origin);
    EXPECT_THAT(header(pre, "Vary"), HasSubstr("Origin"));
    EXPECT_EQ(header(pre, "Access-Control-Allow-Methods"), "POST, OPTIONS");
    EXPECT_EQ(header(pre, "Access-Control-Allow-Headers"), "content-type, authorization");
    EXPECT_EQ(header(pre, "Access-Control-Max-Age"), "7200");
    EXPECT_FALSE(pre.headers.has("Access-Control-Allow-Credentials"));

    auto actual = upload(broker, wasm, "", hdrs({{"Origin", origin}}));
    EXPECT_EQ(actual.status, 200u);
    EXPECT_EQ(header(actual, "Access-Control-Allow-Origin"), origin);
    EXPECT_THAT(header(actual, "Vary"), HasSubstr("Origin"));
    EXPECT_EQ(header(actual, "Access-Control-Expose-Headers"), kExpose);
  }
  // Not allowed → 403 without CORS headers, for preflight and actual request.
  for (const std::string& origin :
       {std::string("https://evil.example"), std::string("http://localhost:5174")}) {
    SCOPED_TRACE(origin);
    auto pre = http_request("OPTIONS", broker.url("/api/storage/upload"),
                            hdrs({{"Origin", origin}, {"Access-Control-Request-Method", "POST"}}));
    EXPECT_EQ(pre.status, 403u);
    EXPECT_FALSE(pre.headers.has("Access-Control-Allow-Origin"));
    auto actual = upload(broker, wasm, "", hdrs({{"Origin", origin}}));
    EXPECT_EQ(actual.status, 403u);
    EXPECT_EQ(actual.body, "origin not allowed\n");
    EXPECT_FALSE(actual.headers.has("Access-Control-Allow-Origin"));
  }
  // No Origin header: not affected.
  auto plain = upload(broker, wasm);
  EXPECT_EQ(plain.status, 200u);
  EXPECT_FALSE(plain.headers.has("Access-Control-Allow-Origin"));

  // Public read group: any origin, '*'.
  auto pre = http_request("OPTIONS", broker.url("/api/storage/" + ref_of(wasm)),
                          hdrs({{"Origin", "https://evil.example"},
                                {"Access-Control-Request-Method", "GET"},
                                {"Access-Control-Request-Headers", "range"}}));
  EXPECT_EQ(pre.status, 204u);
  EXPECT_EQ(header(pre, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(pre, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(header(pre, "Access-Control-Allow-Headers"), "range");
  EXPECT_EQ(header(pre, "Access-Control-Max-Age"), "7200");
  auto down = http_get(broker.url("/api/storage/" + ref_of(wasm)),
                       hdrs({{"Origin", "https://evil.example"}}));
  EXPECT_EQ(down.status, 200u);
  EXPECT_EQ(header(down, "Access-Control-Allow-Origin"), "*");
  // Even a 404 of the public read group carries the CORS headers (so the page can read it).
  auto missing =
      http_get(broker.url("/api/storage/missing.wasm"), hdrs({{"Origin", "https://evil.example"}}));
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(header(missing, "Access-Control-Allow-Origin"), "*");
}

// Upload through one broker, restart it on the same storage, read back by alias and ref.
void check_persistence(const std::string& storage, const std::function<void()>& check_layout) {
  const std::string wasm = wasm_bytes("persistent module");
  const std::string zip = zip_bytes("a.txt", "persist\n");
  {
    BrokerProcess broker(Env{{"WASIMOFF_FILESTORAGE", storage}});
    ASSERT_EQ(upload(broker, wasm, "keep.wasm").status, 200u);
    ASSERT_EQ(upload(broker, zip, "keep.zip").status, 200u);
    ASSERT_EQ(upload(broker, wasm, "keep%20again.wasm").status, 200u);  // same content, stored once
    EXPECT_EQ(broker.stop(), 0) << broker.process().stderr_text();
  }
  if (check_layout) check_layout();
  BrokerProcess broker(Env{{"WASIMOFF_FILESTORAGE", storage}});
  auto by_alias = http_get(broker.url("/api/storage/keep.wasm"));
  ASSERT_EQ(by_alias.status, 200u);
  EXPECT_EQ(by_alias.body, wasm);
  EXPECT_EQ(header(by_alias, "Content-Type"), "application/wasm");
  EXPECT_EQ(http_get(broker.url("/api/storage/keep%20again.wasm")).body, wasm);
  auto by_ref = http_get(broker.url("/api/storage/" + ref_of(zip)));
  ASSERT_EQ(by_ref.status, 200u);
  EXPECT_EQ(by_ref.body, zip);
  EXPECT_EQ(header(by_ref, "Content-Type"), "application/zip");
  auto ranged = http_get(broker.url("/api/storage/keep.wasm"), hdrs({{"Range", "bytes=8-17"}}));
  EXPECT_EQ(ranged.status, 206u);
  EXPECT_EQ(ranged.body, "persistent");
}

TEST(Storage, PersistsAcrossRestartWithDirfs) {
  TempDir dir;
  const std::string root = dir.file("store");
  check_persistence("dirfs://" + root, [&] {
    // Layout of docs/configuration.md §5.2: blobs/<hex>, names/<percent-encoded alias>.
    const std::string wasm = wasm_bytes("persistent module");
    EXPECT_EQ(read_file(root + "/blobs/" + sha256_hex_of(wasm)), wasm);
    EXPECT_EQ(read_file(root + "/names/keep.wasm"), ref_of(wasm) + "\n");
    // "Percent-encoded" leaves the choice of escaped characters to the backend: decode.
    std::map<std::string, std::string> names;
    for (const auto& e : fs::directory_iterator(root + "/names"))
      names[percent_decode(e.path().filename().string()).value_or("?")] = read_file(e.path());
    EXPECT_EQ(names.size(), 3u);
    EXPECT_EQ(names["keep again.wasm"], ref_of(wasm) + "\n");
    EXPECT_EQ(names["keep.zip"], ref_of(zip_bytes("a.txt", "persist\n")) + "\n");
    std::size_t blobs = 0;
    for (const auto& e : fs::directory_iterator(root + "/blobs")) blobs += e.is_regular_file();
    EXPECT_EQ(blobs, 2u);
  });
}

TEST(Storage, PersistsAcrossRestartWithBarePath) {
  TempDir dir;
  check_persistence(dir.file("bare"), nullptr);
}

TEST(Storage, PersistsAcrossRestartWithSqlite) {
  TempDir dir;
  const std::string db = dir.file("files.db");
  check_persistence("sqlite://" + db, [&] { EXPECT_TRUE(fs::exists(db)); });
}

TEST(Storage, MemoryStorageIsLostOnRestart) {
  const std::string wasm = wasm_bytes("volatile");
  {
    BrokerProcess broker(Env{{"WASIMOFF_FILESTORAGE", ":memory:"}});
    ASSERT_EQ(upload(broker, wasm, "v.wasm").status, 200u);
  }
  BrokerProcess broker(Env{{"WASIMOFF_FILESTORAGE", ":memory:"}});
  EXPECT_EQ(http_get(broker.url("/api/storage/v.wasm")).status, 404u);
}

TEST(Storage, LargeFileRoundTrip) {
  BrokerProcess broker;
  std::string big = wasm_bytes();
  big.reserve(8u << 20);
  for (std::uint32_t i = 0; big.size() < (8u << 20); ++i)
    big.append(reinterpret_cast<const char*>(&i), 4);
  auto up = upload(broker, big, "big.wasm");
  ASSERT_EQ(up.status, 200u);
  EXPECT_EQ(up.body, ref_of(big) + "\n");
  auto down = http_get(broker.url("/api/storage/big.wasm"));
  ASSERT_EQ(down.status, 200u);
  EXPECT_EQ(down.body.size(), big.size());
  EXPECT_TRUE(down.body == big);
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
