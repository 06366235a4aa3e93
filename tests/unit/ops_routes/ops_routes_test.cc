#include "broker/api/ops_routes.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/build_info.h"
#include "net/http/static_files.h"
#include "run_sync.h"

namespace wasimoff::broker {
namespace {

namespace json = boost::json;

constexpr const char* kUrl = "https://localhost:4443/transport";
constexpr const char* kHash = "9f2c5d0e1b7a3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5";

class OpsRoutesTest : public ::testing::Test {
 protected:
  OpsRoutesTest() : metrics_(std::make_shared<metrics::BrokerMetrics>()) {}

  OpsRoutes::Options options() {
    OpsRoutes::Options o;
    o.metrics = metrics_;
    o.transport_url = kUrl;
    return o;
  }

  static http::Response call(const http::Router& router, std::string method, std::string path,
                             http::Headers headers = {}) {
    asio::io_context io;
    http::Request req;
    req.method = std::move(method);
    req.path = path;
    req.target = path;
    req.headers = std::move(headers);
    http::RequestContext ctx(io.get_executor());
    std::optional<http::Response> out;
    out = wasimoff::testing::run_sync(io, router.dispatch(req, ctx));
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : http::Response{};
  }

  static std::string header(const http::Response& r, std::string_view name) {
    return std::string(r.headers.get(name).value_or("<absent>"));
  }
  static std::string body(const http::Response& r) {
    auto* s = std::get_if<std::string>(&r.body);
    return s ? *s : "<not a string body>";
  }

  std::shared_ptr<metrics::BrokerMetrics> metrics_;
};

TEST_F(OpsRoutesTest, HealthzOnBothPaths) {
  http::Router router;
  register_ops_routes(router, options());
  for (const char* path : {"/healthz", "/api/broker/v1/healthz"}) {
    SCOPED_TRACE(path);
    for (const char* method : {"GET", "HEAD"}) {
      auto r = call(router, method, path);
      EXPECT_EQ(r.status, 200u);
      EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
      EXPECT_EQ(body(r), "OK\n");  // the server drops it for HEAD
    }
    auto post = call(router, "POST", path);
    EXPECT_EQ(post.status, 405u);
    EXPECT_EQ(header(post, "Allow"), "GET, HEAD");
  }
}

TEST_F(OpsRoutesTest, VersionReportsTheBuild) {
  http::Router router;
  register_ops_routes(router, options());
  for (const char* method : {"GET", "HEAD"}) {
    auto r = call(router, method, "/api/version");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    auto v = json::parse(body(r)).as_object();
    EXPECT_EQ(v.size(), 4u);
    EXPECT_EQ(v.at("package").as_string(), "wasimoff-broker");
    EXPECT_EQ(v.at("version").as_string(), build_version());
    EXPECT_EQ(v.at("revision").as_string(), build_revision());
    EXPECT_EQ(v.at("compiler").as_string(), build_compiler());
    EXPECT_FALSE(v.at("version").as_string().empty());
    EXPECT_FALSE(v.at("revision").as_string().empty());
  }
}

TEST_F(OpsRoutesTest, MetricsServePrometheusText) {
  http::Router router;
  register_ops_routes(router, options());
  metrics_->task_retry(5);
  metrics_->set_queue_source([] { return metrics::BrokerMetrics::QueueStats{4, 1}; });
  auto r = call(router, "GET", "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto text = body(r);
  EXPECT_NE(text.find("# TYPE wasimoff_tasks_completed histogram\n"), std::string::npos);
  EXPECT_NE(text.find("\nwasimoff_task_retries_count{attempt=\"5\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nwasimoff_tasks_queued 4\n"), std::string::npos);
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos);
}

TEST_F(OpsRoutesTest, MetricsDisabledIs404) {
  auto o = options();
  o.metrics_enabled = false;
  o.metrics = nullptr;
  http::Router router;
  register_ops_routes(router, o);
  auto r = call(router, "GET", "/metrics");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(body(r), "not found\n");

  // Also with the static files fallback installed, as in the Broker.
  router.set_fallback(http::make_static_files_handler({}));
  EXPECT_EQ(call(router, "GET", "/metrics").status, 404u);
}

TEST_F(OpsRoutesTest, MetricsEnabledWithoutRegistryIsAConfigurationBug) {
  auto o = options();
  o.metrics = nullptr;
  http::Router router;
  EXPECT_THROW(register_ops_routes(router, o), std::invalid_argument);
}

TEST_F(OpsRoutesTest, DebugStateOnlyWhenEnabled) {
  {
    http::Router router;
    register_ops_routes(router, options());
    auto r = call(router, "GET", "/debug/state");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(body(r), "not found\n");
  }
  {
    auto o = options();
    o.debug_enabled = true;
    http::Router router;
    register_ops_routes(router, o);
    auto r = call(router, "GET", "/debug/state");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    auto state = json::parse(body(r)).as_object();
    EXPECT_TRUE(state.at("providers").as_array().empty());
    EXPECT_EQ(state.at("queue_length").as_int64(), 0);
    EXPECT_EQ(state.at("tasks_in_backoff").as_int64(), 0);
  }
  {
    auto o = options();
    o.debug_enabled = true;
    int calls = 0;
    o.debug_state = [&calls] {
      ++calls;
      return std::string(R"({"providers":[{"name":"p1"}],"queue_length":3})");
    };
    http::Router router;
    register_ops_routes(router, o);
    auto r = call(router, "GET", "/debug/state");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(body(r), R"({"providers":[{"name":"p1"}],"queue_length":3})");
    call(router, "GET", "/debug/state");
    EXPECT_EQ(calls, 2);  // a fresh snapshot per request
  }
}

TEST_F(OpsRoutesTest, ConfigWithCerthash) {
  auto o = options();
  std::optional<std::string> current = kHash;
  o.certhash = [&current] { return current; };
  http::Router router;
  register_ops_routes(router, o);
  for (const char* method : {"GET", "HEAD"}) {
    auto r = call(router, method, "/api/broker/v1/config");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(header(r, "Cache-Control"), "no-store");
    EXPECT_EQ(body(r),
              std::string(R"({"transport":")") + kUrl + R"(","certhash":")" + kHash + R"("})");
  }
  // The hash is looked up on every request (the ephemeral certificate rotates).
  current = std::string(64, 'A');
  auto rotated = json::parse(body(call(router, "GET", "/api/broker/v1/config"))).as_object();
  EXPECT_EQ(rotated.at("certhash").as_string(), std::string(64, 'a'));  // lower-case hex
  // A certificate from files: the field disappears.
  current.reset();
  EXPECT_EQ(body(call(router, "GET", "/api/broker/v1/config")),
            std::string(R"({"transport":")") + kUrl + R"("})");
}

TEST_F(OpsRoutesTest, ConfigWithoutCerthashSource) {
  auto o = options();
  o.transport_url = "https://example.org:443/wt?x=\"y\"";  // published verbatim, JSON-escaped
  http::Router router;
  register_ops_routes(router, o);
  auto r = call(router, "GET", "/api/broker/v1/config");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(body(r), R"({"transport":"https://example.org:443/wt?x=\"y\""})");
  EXPECT_EQ(json::parse(body(r)).as_object().at("transport").as_string(), o.transport_url);
}

TEST_F(OpsRoutesTest, ConfigPublishesTheMessageLimitAsANumber) {
  auto o = options();
  o.max_message_size = 64ull << 20;
  http::Router router;
  register_ops_routes(router, o);
  auto doc = json::parse(body(call(router, "GET", "/api/broker/v1/config"))).as_object();
  ASSERT_TRUE(doc.contains("maxMessageSize"));
  ASSERT_TRUE(doc.at("maxMessageSize").is_number());
  EXPECT_EQ(doc.at("maxMessageSize").to_number<std::uint64_t>(), 67108864u);
  EXPECT_EQ(doc.at("transport").as_string(), kUrl);
  EXPECT_FALSE(doc.contains("capabilities"));
  o.provider_capabilities = true;
  http::Router router2;
  register_ops_routes(router2, o);
  auto doc2 = json::parse(body(call(router2, "GET", "/api/broker/v1/config"))).as_object();
  EXPECT_EQ(doc2.at("capabilities"), json::value(true));
}

TEST_F(OpsRoutesTest, ConfigPreflightIsPublicCors) {
  http::Router router;
  register_ops_routes(router, options());
  http::Headers h;
  h.add("Origin", "https://elsewhere.example");
  h.add("Access-Control-Request-Method", "GET");
  h.add("Access-Control-Request-Headers", "x-custom, authorization");
  auto r = call(router, "OPTIONS", "/api/broker/v1/config", h);
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(header(r, "Access-Control-Allow-Headers"), "x-custom, authorization");
  EXPECT_EQ(header(r, "Access-Control-Max-Age"), "7200");
  EXPECT_EQ(header(r, "Access-Control-Allow-Credentials"), "<absent>");

  auto post = call(router, "POST", "/api/broker/v1/config");
  EXPECT_EQ(post.status, 405u);
  auto allow = header(post, "Allow");
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) EXPECT_NE(allow.find(m), std::string::npos);
}

TEST_F(OpsRoutesTest, OtherOpsRoutesDoNotAnswerOptions) {
  http::Router router;
  register_ops_routes(router, options());
  for (const char* path : {"/healthz", "/api/version", "/metrics"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(call(router, "OPTIONS", path).status, 405u);
  }
}

}  // namespace
}  // namespace wasimoff::broker
