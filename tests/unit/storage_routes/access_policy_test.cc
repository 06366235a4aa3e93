// Tokens, origin checks and CORS headers of AccessPolicy.
#include "broker/api/access_policy.h"

#include <gtest/gtest.h>

namespace wasimoff::broker {
namespace {

http::Request request(std::string authority = "broker.local:4080",
                      std::optional<std::string> origin = std::nullopt) {
  http::Request r;
  r.method = "POST";
  r.path = "/api/storage/upload";
  r.target = r.path;
  r.authority = std::move(authority);
  r.scheme = "http";
  if (origin) r.headers.add("Origin", *origin);
  return r;
}

http::Request with_token_header(std::string value) {
  auto r = request();
  r.headers.add("Authorization", std::move(value));
  return r;
}

http::Request with_token_query(std::string query) {
  auto r = request();
  r.query = std::move(query);
  r.target = r.path + "?" + r.query;
  return r;
}

TEST(AccessPolicy, OpenWhenNoTokenIsConfigured) {
  AccessPolicy open("", "", {});
  EXPECT_TRUE(open.client_ok(request()));
  EXPECT_TRUE(open.provider_ok(request()));
  EXPECT_TRUE(open.download_ok(request()));
  EXPECT_TRUE(open.client_ok(with_token_header("Bearer whatever")));
}

TEST(AccessPolicy, TokensViaHeaderOrQuery) {
  AccessPolicy policy("client-secret", "provider-secret", {});
  EXPECT_FALSE(policy.client_ok(request()));
  EXPECT_TRUE(policy.client_ok(with_token_header("Bearer client-secret")));
  EXPECT_TRUE(policy.client_ok(with_token_header("bearer client-secret")));  // scheme any case
  EXPECT_TRUE(policy.client_ok(with_token_header("  Bearer   client-secret  ")));
  EXPECT_FALSE(policy.client_ok(with_token_header("Bearer client-secre")));
  EXPECT_FALSE(policy.client_ok(with_token_header("Bearer client-secret2")));
  EXPECT_FALSE(policy.client_ok(with_token_header("Basic client-secret")));
  EXPECT_FALSE(policy.client_ok(with_token_header("client-secret")));
  EXPECT_FALSE(policy.client_ok(with_token_header("Bearer provider-secret")));

  EXPECT_TRUE(policy.client_ok(with_token_query("token=client-secret")));
  EXPECT_TRUE(policy.client_ok(with_token_query("name=x&token=client%2Dsecret")));
  EXPECT_FALSE(policy.client_ok(with_token_query("token=CLIENT-SECRET")));
  EXPECT_FALSE(policy.client_ok(with_token_query("tok=client-secret")));

  EXPECT_TRUE(policy.provider_ok(with_token_header("Bearer provider-secret")));
  EXPECT_TRUE(policy.provider_ok(with_token_query("token=provider-secret")));
  EXPECT_FALSE(policy.provider_ok(with_token_header("Bearer client-secret")));
}

TEST(AccessPolicy, DownloadAcceptsEitherTokenAndIsOpenWhenOneIsUnset) {
  AccessPolicy both("c", "p", {});
  EXPECT_FALSE(both.download_ok(request()));
  EXPECT_TRUE(both.download_ok(with_token_header("Bearer c")));
  EXPECT_TRUE(both.download_ok(with_token_query("token=p")));
  EXPECT_FALSE(both.download_ok(with_token_header("Bearer x")));

  AccessPolicy client_only("c", "", {});
  EXPECT_TRUE(client_only.download_ok(request()));
  AccessPolicy provider_only("", "p", {});
  EXPECT_TRUE(provider_only.download_ok(request()));
}

TEST(AccessPolicy, UnauthorizedResponse) {
  auto r = AccessPolicy::unauthorized();
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(std::get<std::string>(r.body), "unauthorized\n");
}

TEST(AccessPolicy, OriginAbsentOrSameHostIsAllowed) {
  AccessPolicy policy("", "", {});
  EXPECT_TRUE(policy.origin_allowed(request()));
  EXPECT_TRUE(policy.origin_allowed(request("broker.local:4080", "http://broker.local:4080")));
  EXPECT_TRUE(policy.origin_allowed(request("Broker.Local:4080", "http://BROKER.local:4080")));
  EXPECT_TRUE(policy.origin_allowed(request("broker.local", "http://broker.local")));
  EXPECT_TRUE(policy.origin_allowed(request("broker.local:80", "http://broker.local")));
  EXPECT_FALSE(policy.origin_allowed(request("broker.local:4080", "http://broker.local:4081")));
  EXPECT_FALSE(policy.origin_allowed(request("broker.local:4080", "http://broker.local")));
  EXPECT_FALSE(policy.origin_allowed(request("broker.local:4080", "https://evil.example")));
  EXPECT_FALSE(policy.origin_allowed(request("broker.local:4080", "null")));
  EXPECT_TRUE(policy.origin_allowed(request("[::1]:4080", "http://[::1]:4080")));
}

TEST(AccessPolicy, OriginPatternsAreCaseInsensitiveGlobsOnHostAndPort) {
  AccessPolicy policy("", "", {"localhost:5173", "*.example.org", "dev-?.test:*"});
  auto allowed = [&](std::string origin) {
    return policy.origin_allowed(request("broker.local:4080", origin));
  };
  EXPECT_TRUE(allowed("http://localhost:5173"));
  EXPECT_FALSE(allowed("http://localhost:5174"));
  EXPECT_FALSE(allowed("http://localhost"));
  EXPECT_TRUE(allowed("https://app.example.org"));
  EXPECT_TRUE(allowed("https://APP.Example.ORG"));
  EXPECT_TRUE(allowed("https://a.b.example.org"));
  EXPECT_FALSE(allowed("https://example.org"));  // "*." needs a sub-domain
  EXPECT_FALSE(allowed("https://example.org.evil.com"));
  EXPECT_FALSE(allowed("https://app.example.org:8443"));  // patterns include the port
  EXPECT_TRUE(allowed("http://dev-1.test:3000"));
  EXPECT_FALSE(allowed("http://dev-10.test:3000"));

  AccessPolicy everything("", "", {"*"});
  EXPECT_TRUE(everything.origin_allowed(request("broker.local", "https://anything.example:1")));
  EXPECT_TRUE(everything.origin_allowed(request("broker.local", "null")));
}

TEST(AccessPolicy, WebTransportComparesHostNamesOnly) {
  AccessPolicy policy("", "", {"*.example.org"});
  EXPECT_TRUE(policy.origin_allowed_host_only("", "localhost:4443"));
  EXPECT_TRUE(policy.origin_allowed_host_only("https://localhost:8080", "localhost:4443"));
  EXPECT_TRUE(policy.origin_allowed_host_only("https://LOCALHOST", "localhost:4443"));
  EXPECT_TRUE(policy.origin_allowed_host_only("http://[::1]:5173", "[::1]:4443"));
  EXPECT_FALSE(policy.origin_allowed_host_only("http://[::2]:5173", "[::1]:4443"));
  EXPECT_FALSE(policy.origin_allowed_host_only("https://evil.com:4443", "localhost:4443"));
  EXPECT_TRUE(policy.origin_allowed_host_only("https://app.example.org", "broker:4443"));
}

TEST(AccessPolicy, ClientCorsHeadersOnlyForAllowedOrigins) {
  AccessPolicy policy("", "", {"localhost:5173"});

  auto no_origin = request();
  EXPECT_FALSE(policy.client_cors_reject(no_origin));
  http::Response plain;
  policy.apply_client_cors(no_origin, plain);
  EXPECT_FALSE(plain.headers.has("Access-Control-Allow-Origin"));

  auto good = request("broker.local:4080", "http://localhost:5173");
  EXPECT_FALSE(policy.client_cors_reject(good));
  http::Response r;
  r.headers.set("Vary", "Accept-Encoding");
  policy.apply_client_cors(good, r);
  EXPECT_EQ(r.headers.get("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(r.headers.get("Vary"), "Accept-Encoding, Origin");
  EXPECT_EQ(r.headers.get("Access-Control-Expose-Headers"), AccessPolicy::expose_headers());
  EXPECT_FALSE(r.headers.has("Access-Control-Allow-Credentials"));

  auto bad = request("broker.local:4080", "http://localhost:5174");
  auto reject = policy.client_cors_reject(bad);
  ASSERT_TRUE(reject);
  EXPECT_EQ(reject->status, 403u);
  EXPECT_EQ(std::get<std::string>(reject->body), "origin not allowed\n");
  http::Response untouched;
  policy.apply_client_cors(bad, untouched);
  EXPECT_FALSE(untouched.headers.has("Access-Control-Allow-Origin"));
}

TEST(AccessPolicy, ExposeListIsTheDocumentedOne) {
  EXPECT_EQ(AccessPolicy::expose_headers(),
            "x-wasimoff-ref, X-Wasimoff-Task-Id, X-Wasimoff-Provider, X-Wasimoff-Result, "
            "X-Wasimoff-Status, X-Wasimoff-Artifacts, X-Wasimoff-Error-Code, Content-Length, "
            "Content-Range, ETag");
}

}  // namespace
}  // namespace wasimoff::broker
