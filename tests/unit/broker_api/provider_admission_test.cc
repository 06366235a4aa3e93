// The provider admission shared by the WebSocket upgrade and the WebTransport CONNECT
// (docs/protocol.md §6, §7): one order of checks, one description of the provider.
#include "broker/api/provider_admission.h"

#include <gtest/gtest.h>

namespace wasimoff::broker {
namespace {

constexpr auto kWs = ProviderLink::kWebSocket;
constexpr auto kWt = ProviderLink::kWebTransport;

http::Request connect(std::string query = {}, std::optional<std::string> user_agent = "agent/1") {
  http::Request r;
  r.method = "GET";
  r.path = "/api/provider/ws";
  r.query = std::move(query);
  r.target = r.query.empty() ? r.path : r.path + "?" + r.query;
  r.authority = "broker.example:4080";
  r.scheme = "https";
  r.remote = "192.0.2.7:5000";
  if (user_agent) r.headers.add("User-Agent", *user_agent);
  return r;
}

StatusCode refusal(const Result<ProviderInfo>& r) {
  EXPECT_FALSE(r.ok());
  return r.ok() ? StatusCode::kOk : r.error().code();
}

TEST(ProviderAdmission, DescribesTheProviderOnBothLinks) {
  AccessPolicy open("", "", {});
  auto ws = admit_provider(connect("id=alice"), open, kWs);
  ASSERT_TRUE(ws.ok()) << ws.status().to_string();
  EXPECT_EQ(ws->name, "alice");
  EXPECT_EQ(ws->user_agent, "agent/1");
  EXPECT_EQ(ws->address, "192.0.2.7:5000");
  EXPECT_EQ(ws->transport, "websocket");
  auto wt = admit_provider(connect("id=alice"), open, kWt);
  ASSERT_TRUE(wt.ok()) << wt.status().to_string();
  EXPECT_EQ(wt->name, "alice");
  EXPECT_EQ(wt->transport, "webtransport");
  // No name: anonymous.
  EXPECT_EQ(admit_provider(connect(), open, kWs)->name, "anonymous");
}

TEST(ProviderAdmission, UserAgentIsRequiredOnWebSocketOnly) {
  AccessPolicy open("", "", {});
  auto ws = admit_provider(connect("", std::nullopt), open, kWs);
  EXPECT_EQ(refusal(ws), StatusCode::kInvalidArgument);
  EXPECT_EQ(ws.error().message(), "no user-agent");
  EXPECT_EQ(refusal(admit_provider(connect("", "   "), open, kWs)), StatusCode::kInvalidArgument);
  // Browsers send none on a WebTransport CONNECT.
  auto wt = admit_provider(connect("", std::nullopt), open, kWt);
  ASSERT_TRUE(wt.ok());
  EXPECT_EQ(wt->user_agent, "unknown");
}

TEST(ProviderAdmission, HostileUserAgentIsTrimmedAndBounded) {
  AccessPolicy open("", "", {});
  auto long_ua = admit_provider(connect("", "  " + std::string(10000, 'u') + "  "), open, kWs);
  ASSERT_TRUE(long_ua.ok());
  EXPECT_EQ(long_ua->user_agent, std::string(256, 'u'));
}

TEST(ProviderAdmission, TokenThenUserAgentThenOriginThenName) {
  AccessPolicy guarded("", "secret", {});
  // Everything wrong: the token is reported first.
  auto r = connect("id=bad%0Aname", std::nullopt);
  r.headers.add("Origin", "https://evil.example");
  EXPECT_EQ(refusal(admit_provider(r, guarded, kWs)), StatusCode::kUnauthenticated);
  EXPECT_EQ(refusal(admit_provider(r, guarded, kWt)), StatusCode::kUnauthenticated);
  // With the token: the missing user agent (WebSocket), then the origin.
  r.headers.add("Authorization", "Bearer secret");
  EXPECT_EQ(refusal(admit_provider(r, guarded, kWs)), StatusCode::kInvalidArgument);
  EXPECT_EQ(refusal(admit_provider(r, guarded, kWt)), StatusCode::kPermissionDenied);
  r.headers.add("User-Agent", "agent/1");
  EXPECT_EQ(refusal(admit_provider(r, guarded, kWs)), StatusCode::kPermissionDenied);
  // With an allowed origin: the name.
  r.headers.set("Origin", "https://broker.example:4080");
  auto named = admit_provider(r, guarded, kWs);
  EXPECT_EQ(refusal(named), StatusCode::kInvalidArgument);
  EXPECT_TRUE(named.error().message().starts_with("invalid provider name: "))
      << named.error().message();
}

TEST(ProviderAdmission, WebTransportComparesOriginHostNamesOnly) {
  AccessPolicy open("", "", {});
  auto r = connect();
  r.authority = "broker.example:4443";  // the QUIC port; the page came from :4080
  r.headers.add("Origin", "https://broker.example:4080");
  EXPECT_TRUE(admit_provider(r, open, kWt).ok());
  EXPECT_EQ(refusal(admit_provider(r, open, kWs)), StatusCode::kPermissionDenied);
  r.headers.set("Origin", "https://other.example:4080");
  EXPECT_EQ(refusal(admit_provider(r, open, kWt)), StatusCode::kPermissionDenied);
}

TEST(ProviderAdmission, RefusalsMapToTheDocumentedHttpStatuses) {
  EXPECT_EQ(http_status(StatusCode::kUnauthenticated), 401u);
  EXPECT_EQ(http_status(StatusCode::kPermissionDenied), 403u);
  EXPECT_EQ(http_status(StatusCode::kInvalidArgument), 400u);
}

TEST(ProviderAdmission, DisplayAddressPrefersForwardedHeaders) {
  auto r = connect();
  EXPECT_EQ(display_address(r), "192.0.2.7:5000");
  r.headers.add("X-Real-IP", " 198.51.100.1 ");
  EXPECT_EQ(display_address(r), "198.51.100.1");
  r.headers.add("X-Forwarded-For", "203.0.113.9, 10.0.0.1");
  EXPECT_EQ(display_address(r), "203.0.113.9");
}

}  // namespace
}  // namespace wasimoff::broker
