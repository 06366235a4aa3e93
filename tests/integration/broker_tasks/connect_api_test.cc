// The Connect API (docs/http-api.md §3, §4, §7) end to end: codecs, compression, errors, CORS and
// the task metrics.
#include <zlib.h>

#include <atomic>

#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

std::string gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

void expect_connect_error(const ClientResponse& r, unsigned status, const std::string& code,
                          const std::string& message_start = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.headers.get("Content-Type"), "application/json");
  auto body = BrokerTasks::parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), code) << r.body;
  if (!message_start.empty()) {
    EXPECT_TRUE(std::string(body.at("message").as_string()).starts_with(message_start)) << r.body;
  }
}

TEST_F(BrokerTasks, ConnectWithTheBinaryCodec) {
  start_broker();
  auto p = connect_provider("bin", 1);
  v1::Task::Wasip1::Request req;
  req.mutable_info()->set_reference("binary-ref");
  req.mutable_params()->mutable_binary()->set_ref("echo.wasm");
  req.mutable_params()->add_args("echo.wasm");
  req.mutable_params()->add_args("proto");
  req.mutable_params()->set_stdin(std::string("in\0put", 6));
  auto r = rpc("RunWasip1", req.SerializeAsString(), {{"Content-Type", "application/proto"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.headers.get("Content-Type"), "application/proto");
  v1::Task::Wasip1::Response resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_EQ(resp.ok().stdout(), "proto\n");
  EXPECT_TRUE(resp.ok().has_status());  // status 0 is present, not dropped
  EXPECT_EQ(resp.info().reference(), "binary-ref");
  EXPECT_EQ(p->requests()[0].params().stdin(), std::string("in\0put", 6));

  // Errors are JSON whatever the request codec was.
  v1::Task::Wasip1::Request missing = req;
  missing.mutable_params()->mutable_binary()->set_ref("nope.wasm");
  expect_connect_error(
      rpc("RunWasip1", missing.SerializeAsString(), {{"Content-Type", "application/proto"}}), 404,
      "not_found", "file not found in storage: nope.wasm");
  expect_connect_error(rpc("RunWasip1", "\xff\xff\xff", {{"Content-Type", "application/proto"}}),
                       400, "invalid_argument");
}

TEST_F(BrokerTasks, ConnectAcceptsGzipBodies) {
  start_broker();
  auto p = connect_provider("gz", 1);
  auto r = rpc("RunWasip1", gzip(task_json({"zipped"})), {{"Content-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(stdout_of(parse(r.body)), "zipped\n");
  expect_connect_error(rpc("RunWasip1", "not gzip at all", {{"Content-Encoding", "gzip"}}), 400,
                       "invalid_argument");
  expect_connect_error(rpc("RunWasip1", task_json({"x"}), {{"Content-Encoding", "br"}}), 501,
                       "unimplemented");
}

TEST_F(BrokerTasks, ConnectValidationErrors) {
  start_broker();
  auto p = connect_provider("never-used", 1);
  expect_connect_error(rpc("RunWasip1", "{not json"), 400, "invalid_argument");
  expect_connect_error(rpc("RunWasip1", R"({"params":{"args":"not-a-list"}})"), 400,
                       "invalid_argument");
  expect_connect_error(rpc("RunWasip1", "{}"), 400, "invalid_argument");  // params missing
  expect_connect_error(rpc("RunWasip1", R"({"params":{"args":["x"]}})"), 400, "invalid_argument",
                       "binary is required");
  expect_connect_error(rpc("RunWasip1", R"({"params":{"binary":{}}})"), 400, "invalid_argument");
  std::string both = R"({"params":{"binary":{"ref":"echo.wasm","blob":")" +
                     base64_encode(tiny_wasm("b")) + R"("}}})";
  expect_connect_error(rpc("RunWasip1", both), 400, "invalid_argument");
  std::string not_wasm = R"({"params":{"binary":{"blob":"aGVsbG8="}}})";
  expect_connect_error(rpc("RunWasip1", not_wasm), 400, "invalid_argument");
  expect_connect_error(rpc("RunWasip1", R"({"params":{"binary":{"ref":"nope.wasm"}}})"), 404,
                       "not_found", "file not found in storage: nope.wasm");
  // Every problem of one request is reported, with the code of the first.
  auto two =
      rpc("RunWasip1", R"({"params":{"binary":{"ref":"nope.wasm"},"rootfs":{"ref":"nope.zip"}}})");
  expect_connect_error(two, 404, "not_found");
  EXPECT_EQ(parse(two.body).at("message").as_string(),
            "file not found in storage: nope.wasm; file not found in storage: nope.zip");
  expect_connect_error(rpc("RunWasip1", task_json({"x"}), {{"Connect-Timeout-Ms", "soon"}}), 400,
                       "invalid_argument");
  expect_connect_error(rpc("RunWasip1", task_json({"x"}), {{"Connect-Protocol-Version", "2"}}), 400,
                       "invalid_argument");
  expect_connect_error(rpc("RunPyodide", R"({"params":{}})"), 400, "invalid_argument");
  expect_connect_error(rpc("RunWasip1Job", R"({"tasks":[]})"), 400, "invalid_argument");
  expect_connect_error(rpc("Frobnicate", "{}"), 501, "unimplemented");
  auto wrong_type = rpc("RunWasip1", "{}", {{"Content-Type", "application/grpc"}});
  EXPECT_EQ(wrong_type.status, 415u);
  EXPECT_EQ(wrong_type.headers.get("Accept-Post"), "application/json, application/proto");
  EXPECT_EQ(p->requests().size(), 0u);
}

TEST_F(BrokerTasks, JobTasksFailIndividually) {
  start_broker();
  auto p = connect_provider("job", 2);
  auto r =
      rpc("RunWasip1Job", R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{"args":["a","0"]},)"
                          R"({"binary":{"ref":"nope.wasm"}},{"args":["a","2"]}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto tasks = parse(r.body).at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(stdout_of(tasks[0]), "0\n");
  EXPECT_EQ(tasks[1].at("error").as_string(), "file not found in storage: nope.wasm");
  EXPECT_EQ(stdout_of(tasks[2]), "2\n");
}

TEST_F(BrokerTasks, InlineBinaryTravelsToTheProvider) {
  start_broker();
  auto p = connect_provider("inline", 1);
  std::string blob = tiny_wasm("inline");
  auto r = rpc("RunWasip1", R"({"params":{"binary":{"blob":")" + base64_encode(blob) +
                                R"("},"args":["i","ok"]}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_EQ(p->requests().size(), 1u);
  EXPECT_EQ(p->requests()[0].params().binary().blob(), blob);
  EXPECT_TRUE(p->requests()[0].params().binary().ref().empty());
}

TEST_F(BrokerTasks, ConnectNeedsTheClientToken) {
  start_broker({{"WASIMOFF_CLIENT_TOKEN", "c-token"}});
  auto p = connect_provider("tok", 1);
  auto r = rpc("RunWasip1", task_json({"x"}));
  expect_connect_error(r, 401, "unauthenticated");
  EXPECT_EQ(r.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(rpc("RunWasip1", task_json({"x"}), {{"Authorization", "Bearer c-token"}}).status, 200u);
}

TEST_F(BrokerTasks, CorsOnTheClientApi) {
  start_broker({{"WASIMOFF_ALLOWED_ORIGINS", "localhost:5173"}});
  auto p = connect_provider("cors", 1);
  std::string url = broker().url("/api/client/wasimoff.v1.Tasks/RunWasip1");
  auto pre = http_request(
      "OPTIONS", url,
      make_headers({{"Origin", "http://localhost:5173"},
                    {"Access-Control-Request-Method", "POST"},
                    {"Access-Control-Request-Headers", "content-type, connect-timeout-ms"}}));
  EXPECT_EQ(pre.status, 204u);
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_EQ(pre.headers.get("Vary"), "Origin");
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(pre.headers.get("Access-Control-Allow-Headers"), "content-type, connect-timeout-ms");
  EXPECT_EQ(pre.headers.get("Access-Control-Max-Age"), "7200");
  EXPECT_FALSE(pre.headers.has("Access-Control-Allow-Credentials"));

  auto denied = http_request(
      "OPTIONS", url,
      make_headers({{"Origin", "http://evil.test"}, {"Access-Control-Request-Method", "POST"}}));
  EXPECT_EQ(denied.status, 403u);
  EXPECT_FALSE(denied.headers.has("Access-Control-Allow-Origin"));

  auto actual = rpc("RunWasip1", task_json({"x"}), {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(actual.status, 200u);
  EXPECT_EQ(actual.headers.get("Access-Control-Allow-Origin"), "http://localhost:5173");
  EXPECT_NE(std::string(actual.headers.get("Access-Control-Expose-Headers").value_or(""))
                .find("X-Wasimoff-Task-Id"),
            std::string::npos);
  auto refused = rpc("RunWasip1", task_json({"x"}), {{"Origin", "http://evil.test"}});
  EXPECT_EQ(refused.status, 403u);
  EXPECT_EQ(p->requests().size(), 1u);  // the refused request never became a task
}

TEST_F(BrokerTasks, MetricsFollowTheTasks) {
  start_broker();
  auto metrics = [&] { return http_get(broker().url("/metrics")).body; };
  const std::string ok_count = R"(wasimoff_tasks_completed_count{status="ok",target="provider"})";
  const std::string err_count = R"(wasimoff_tasks_completed_count{status="err",target="provider"})";
  const std::string scheduled = R"(wasimoff_tasks_scheduled_count{target="provider"})";
  const std::string retries2 = R"(wasimoff_task_retries_count{attempt="2"})";
  auto before = metrics();
  EXPECT_EQ(metric_value(before, "wasimoff_connected_providers"), 0);
  EXPECT_LE(metric_value(before, ok_count), 0);

  auto o = provider_options("metered", 3);
  auto failed_once = std::make_shared<std::atomic<bool>>(false);
  o.script = [failed_once](const v1::Task::Wasip1::Request& r) {
    // "retry" fails once at transport level, then succeeds; "held" runs until cancelled.
    if (r.params().args(1) == "retry" && !failed_once->exchange(true))
      return TaskAction::envelope_error("transient");
    if (r.params().args(1) == "held") return TaskAction::echo(r).held();
    return TaskAction::echo(r);
  };
  auto p = connect_provider(o);
  for (int i = 0; i < 2; ++i) run_ok({std::to_string(i)});
  run_ok({"retry"});
  EXPECT_EQ(rpc("RunWasip1", task_json({"held"}), {{"Connect-Timeout-Ms", "500"}}).status, 504u);

  auto after = metrics();
  EXPECT_EQ(metric_value(after, "wasimoff_connected_providers"), 1);
  EXPECT_EQ(metric_value(after, R"(wasimoff_available_workers{type="providers"})"), 3);
  EXPECT_EQ(metric_value(after, ok_count), 3);
  EXPECT_EQ(metric_value(after, scheduled), 5);  // every assignment, the retry included
  EXPECT_EQ(metric_value(after, retries2), 1);
  EXPECT_EQ(metric_value(after, "wasimoff_tasks_queued"), 0);
  EXPECT_EQ(metric_value(after, "wasimoff_tasks_dispatching"), 0);
  EXPECT_EQ(metric_value(after, err_count), 1);  // the deadline counts as a Broker-level failure
}

}  // namespace
}  // namespace wasimoff::testing
