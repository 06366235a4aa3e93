// Operational endpoints of the real broker (docs/http-api.md §1, §2, §7, §8): health, version,
// metrics, debug state, provider discovery, the Server header and the "no CORS" group.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// "wasimoff-broker/<semver>" on every response.
void expect_server_header(const http::ClientResponse& r) {
  EXPECT_THAT(header(r, "Server"),
              ::testing::MatchesRegex("wasimoff-broker/[0-9]+\\.[0-9]+\\.[0-9]+.*"));
}

TEST(OpsEndpoints, HealthzOnBothPathsAndHead) {
  BrokerProcess broker;
  for (const char* path : {"/healthz", "/api/broker/v1/healthz"}) {
    SCOPED_TRACE(path);
    auto r = http_get(broker.url(path));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.body, "OK\n");
    EXPECT_EQ(header(r, "Content-Length"), "3");
    expect_server_header(r);
    // The "none" CORS group: no CORS headers on operational endpoints.
    EXPECT_FALSE(r.headers.has("Access-Control-Allow-Origin"));
    // The QUIC listener serves the same routes over HTTP/3 and is advertised (§1).
    EXPECT_EQ(header(r, "Alt-Svc"),
              "h3=\":" + std::to_string(broker.quic_port()) + "\"; ma=2592000");

    auto head = http_request("HEAD", broker.url(path));
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(header(head, "Content-Length"), "3");
    EXPECT_EQ(head.body, "");
  }
}

TEST(OpsEndpoints, WrongMethodIs405WithAllowAndOptionsIsNotAnswered) {
  BrokerProcess broker;
  auto r = http_request("POST", broker.url("/healthz"), {}, "x");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "method not allowed\n");
  expect_server_header(r);

  auto options = http_request(
      "OPTIONS", broker.url("/api/version"),
      hdrs({{"Origin", "http://elsewhere.example"}, {"Access-Control-Request-Method", "GET"}}));
  EXPECT_EQ(options.status, 405u);
  EXPECT_FALSE(options.headers.has("Access-Control-Allow-Origin"));
}

TEST(OpsEndpoints, VersionJson) {
  BrokerProcess broker;
  auto r = http_get(broker.url("/api/version"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  auto doc = boost::json::parse(r.body).as_object();
  EXPECT_EQ(doc.size(), 4u) << r.body;
  EXPECT_EQ(doc.at("package").as_string(), "wasimoff-broker");
  std::string version(doc.at("version").as_string());
  EXPECT_TRUE(std::regex_match(version, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?")))
      << version;
  std::string revision(doc.at("revision").as_string());
  EXPECT_TRUE(std::regex_match(revision, std::regex("[0-9a-f]{7,40}(-dirty)?|devel"))) << revision;
  EXPECT_FALSE(doc.at("compiler").as_string().empty());
  // The Server header names the same version.
  EXPECT_EQ(header(r, "Server"), "wasimoff-broker/" + version);

  // --version prints the same pair.
  auto cli = run_broker({"--version"}, {});
  EXPECT_EQ(cli.status, 0);
  EXPECT_EQ(cli.out, "wasimoff-broker " + version + " (" + revision + ")\n");
}

TEST(OpsEndpoints, MetricsExposeEverySeries) {
  BrokerProcess broker;
  // One request first, so per-request series have something to show.
  ASSERT_EQ(http_get(broker.url("/healthz")).status, 200u);
  auto r = http_get(broker.url("/metrics"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  expect_server_header(r);
  for (const char* type_line : {
           "# TYPE wasimoff_tasks_completed histogram",
           "# TYPE wasimoff_tasks_scheduled histogram",
           "# TYPE wasimoff_tasks_execution histogram",
           "# TYPE wasimoff_task_retries_count counter",
           "# TYPE wasimoff_task_attempt_timeouts_total counter",
           "# TYPE wasimoff_task_module_refusals_total counter",
           "# TYPE wasimoff_provider_timeout_closes_total counter",
           "# TYPE wasimoff_tasks_queued gauge",
           "# TYPE wasimoff_tasks_dispatching gauge",
           "# TYPE wasimoff_available_workers gauge",
           "# TYPE wasimoff_connected_providers gauge",
           "# TYPE process_cpu_seconds_total counter",
           "# TYPE process_resident_memory_bytes gauge",
           "# TYPE process_open_fds gauge",
           "# TYPE process_start_time_seconds gauge",
       }) {
    EXPECT_THAT(r.body, HasSubstr(std::string(type_line) + "\n")) << type_line;
  }
  // An idle broker: nothing queued, no providers.
  EXPECT_THAT(r.body, HasSubstr("\nwasimoff_tasks_queued 0\n"));
  EXPECT_THAT(r.body, HasSubstr("\nwasimoff_tasks_dispatching 0\n"));
  EXPECT_THAT(r.body, HasSubstr("\nwasimoff_connected_providers 0\n"));
  EXPECT_THAT(r.body, HasSubstr("wasimoff_available_workers{type=\"providers\"} 0\n"));
  // Process metrics carry real values (the broker has some memory and open descriptors).
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.body, m, std::regex("\nprocess_resident_memory_bytes ([0-9.e+]+)\n")));
  EXPECT_GT(std::stod(m[1]), 1e6);
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex("\nprocess_open_fds ([0-9.e+]+)\n")));
  EXPECT_GE(std::stod(m[1]), 3.0);
  ASSERT_TRUE(
      std::regex_search(r.body, m, std::regex("\nprocess_start_time_seconds ([0-9.e+]+)\n")));
  EXPECT_GT(std::stod(m[1]), 1.6e9);  // a Unix time, not an uptime
  // HEAD works like for every GET route.
  auto head = http_request("HEAD", broker.url("/metrics"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
}

TEST(OpsEndpoints, MetricsDisabledIs404) {
  BrokerProcess broker(Env{{"WASIMOFF_METRICS", "false"}});
  auto r = http_get(broker.url("/metrics"));
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.body, "not found\n");
}

TEST(OpsEndpoints, DebugStateOnlyWithDebug) {
  {
    BrokerProcess broker;
    auto r = http_get(broker.url("/debug/state"));
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, "not found\n");
  }
  BrokerProcess broker(Env{{"WASIMOFF_DEBUG", "true"}});
  auto r = http_get(broker.url("/debug/state"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  auto doc = boost::json::parse(r.body).as_object();
  ASSERT_TRUE(doc.contains("providers")) << r.body;
  EXPECT_TRUE(doc.at("providers").as_array().empty());
  // Queue length and tasks in back-off are part of the snapshot (spec §7).
  bool has_queue = false, has_backoff = false;
  for (const auto& [key, value] : doc) {
    std::string k(key);
    if (k.find("queue") != std::string::npos && value.is_number()) has_queue = true;
    if (k.find("backoff") != std::string::npos && value.is_number()) has_backoff = true;
  }
  EXPECT_TRUE(has_queue) << r.body;
  EXPECT_TRUE(has_backoff) << r.body;
  // Debug mode logs the PID (docs/configuration.md §4).
  EXPECT_THAT(broker.process().stderr_text(), HasSubstr(std::to_string(broker.process().pid())));
}

TEST(OpsEndpoints, ConfigWithEphemeralCertificate) {
  BrokerProcess broker(Env{{"WASIMOFF_TRANSPORT_URL", "https://broker.example:4443/transport/x"}});
  auto r = http_get(broker.url("/api/broker/v1/config"));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(header(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  EXPECT_FALSE(r.headers.has("Access-Control-Allow-Credentials"));
  auto doc = boost::json::parse(r.body).as_object();
  EXPECT_EQ(doc.size(), 4u) << r.body;
  // Providers may announce what they run (ProviderCapabilities).
  EXPECT_EQ(doc.at("capabilities"), boost::json::value(true)) << r.body;
  EXPECT_EQ(doc.at("transport").as_string(), "https://broker.example:4443/transport/x");
  // The message limit providers must respect (WASIMOFF_MAX_MESSAGE_SIZE), as a JSON number.
  ASSERT_TRUE(doc.contains("maxMessageSize")) << r.body;
  EXPECT_TRUE(doc.at("maxMessageSize").is_number()) << r.body;
  EXPECT_EQ(doc.at("maxMessageSize").to_number<std::uint64_t>(), 64u << 20);
  std::string certhash(doc.at("certhash").as_string());
  EXPECT_TRUE(is_lower_hex64(certhash)) << certhash;
  // It is the hash of the certificate the QUIC listener presents: an HTTP/3 client that pins
  // it completes the handshake and is served the same routes; a different pin is refused.
  auto h3 = h3_get(broker.quic_port(), certhash, "/healthz");
  EXPECT_EQ(h3.first, 200u);
  EXPECT_EQ(h3.second, "OK\n");
  EXPECT_THROW(h3_get(broker.quic_port(), std::string(64, '0'), "/healthz"), std::exception);
  // The startup log prints the same certhash (docs/configuration.md §8).
  EXPECT_THAT(broker.process().stderr_text(), HasSubstr(certhash));
  // Stable between requests (rotation is daily).
  auto again = boost::json::parse(http_get(broker.url("/api/broker/v1/config")).body).as_object();
  EXPECT_EQ(again.at("certhash").as_string(), certhash);

  auto head = http_request("HEAD", broker.url("/api/broker/v1/config"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(header(head, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(head.body, "");

  // Public read group: preflights are answered with '*'.
  auto pre = http_request("OPTIONS", broker.url("/api/broker/v1/config"),
                          hdrs({{"Origin", "https://anywhere.example"},
                                {"Access-Control-Request-Method", "GET"},
                                {"Access-Control-Request-Headers", "x-custom, authorization"}}));
  EXPECT_EQ(pre.status, 204u);
  EXPECT_EQ(header(pre, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(pre, "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(header(pre, "Access-Control-Allow-Headers"), "x-custom, authorization");
  EXPECT_EQ(header(pre, "Access-Control-Max-Age"), "7200");
  EXPECT_EQ(pre.body, "");
}

TEST(OpsEndpoints, ConfigOmitsCerthashWithLoadedQuicCertificate) {
  TempDir dir;
  auto pem = make_certificate(dir, "quic");
  BrokerProcess broker(Env{{"WASIMOFF_QUIC_CERT", pem.cert},
                           {"WASIMOFF_QUIC_KEY", pem.key},
                           {"WASIMOFF_MAX_MESSAGE_SIZE", "3MiB"}});
  auto r = http_get(broker.url("/api/broker/v1/config"));
  ASSERT_EQ(r.status, 200u);
  auto doc = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(doc.contains("transport"));
  EXPECT_FALSE(doc.contains("certhash")) << r.body;
  EXPECT_EQ(doc.at("maxMessageSize").to_number<std::uint64_t>(), 3u << 20) << r.body;
  // The QUIC listener presents the loaded certificate.
  EXPECT_EQ(h3_get(broker.quic_port(), pem_certificate_sha256(pem.cert), "/healthz").first, 200u);
}

TEST(OpsEndpoints, UnknownApiPathIs404NeverStatic) {
  TempDir root;
  root.write("index.html", "<p>index</p>");
  root.write("api/x", "static file under api");
  BrokerProcess broker(Env{{"WASIMOFF_STATIC_FILES", root.path()}});
  for (const char* path : {"/api/x", "/api/unknown", "/api/broker/v2/nothing", "/api/%78"}) {
    SCOPED_TRACE(path);
    auto r = http_get(broker.url(path));
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.body, "not found\n");
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
    expect_server_header(r);
  }
  // Also for other methods: 404, not 405 from the static handler.
  EXPECT_EQ(http_request("DELETE", broker.url("/api/unknown")).status, 404u);
}

TEST(OpsEndpoints, ClientApiGroupAndUnknownProcedures) {
  BrokerProcess broker(Env{{"WASIMOFF_ALLOWED_ORIGINS", "app.example"}});
  // The Connect and CGI routes are in the client API CORS group (§3).
  for (const char* path : {"/api/client/wasimoff.v1.Tasks/RunWasip1", "/api/client/run/x.wasm"}) {
    SCOPED_TRACE(path);
    auto pre = http_request("OPTIONS", broker.url(path),
                            hdrs({{"Origin", "https://app.example"},
                                  {"Access-Control-Request-Method", "POST"},
                                  {"Access-Control-Request-Headers", "content-type"}}));
    EXPECT_EQ(pre.status, 204u);
    EXPECT_EQ(header(pre, "Access-Control-Allow-Origin"), "https://app.example");
    EXPECT_EQ(header(pre, "Access-Control-Allow-Methods"), "POST, OPTIONS");
    EXPECT_EQ(header(pre, "Access-Control-Max-Age"), "7200");
    auto denied = http_request(
        "OPTIONS", broker.url(path),
        hdrs({{"Origin", "https://other.example"}, {"Access-Control-Request-Method", "POST"}}));
    EXPECT_EQ(denied.status, 403u);
    EXPECT_FALSE(denied.headers.has("Access-Control-Allow-Origin"));
  }
  // Unknown Connect procedure → Connect error `unimplemented` (§2).
  auto r = http_request("POST", broker.url("/api/client/wasimoff.v1.Tasks/Nope"),
                        hdrs({{"Content-Type", "application/json"}}), "{}");
  EXPECT_EQ(r.status, 501u);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(boost::json::parse(r.body).as_object().at("code").as_string(), "unimplemented");
}

TEST(OpsEndpoints, ErrorsArePlainTextOneLine) {
  BrokerProcess broker;
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/storage/sha256:" + std::string(64, '0')},
           {"PUT", "/healthz"},
           {"GET", "/api/nothing"},
       }) {
    SCOPED_TRACE(method + " " + path);
    auto r = http_request(method, broker.url(path));
    EXPECT_GE(r.status, 400u);
    EXPECT_EQ(header(r, "Content-Type"), "text/plain; charset=utf-8");
    ASSERT_FALSE(r.body.empty());
    EXPECT_EQ(r.body.back(), '\n');
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1);
    expect_server_header(r);
  }
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
