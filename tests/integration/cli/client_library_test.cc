// The client library's pieces without a Broker: error classification and hints, broker
// addresses, job expansion and deadlines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/broker_options.h"
#include "client/client_error.h"
#include "client/job_expansion.h"
#include "client/task_socket.h"

namespace wasimoff::client {
namespace {

using ::testing::HasSubstr;

TEST(ConnectError, UsesTheConnectBodyWhenThereIsOne) {
  auto e = connect_error(404, R"({"code":"not_found","message":"file not found in storage: x"})");
  EXPECT_EQ(e.kind(), ClientError::Kind::kRpc);
  EXPECT_EQ(e.code(), "not_found");
  EXPECT_EQ(e.message(), "file not found in storage: x");
  EXPECT_STREQ(e.what(), "not_found: file not found in storage: x");
  EXPECT_THAT(e.hint(), HasSubstr("wasimoff upload"));
}

TEST(ConnectError, PlainHttpErrorsKeepTheirStatus) {
  auto proxy = connect_error(502, "<html><body>Bad Gateway</body></html>\n<more/>", "RunWasip1");
  EXPECT_EQ(proxy.kind(), ClientError::Kind::kHttp);
  EXPECT_EQ(proxy.code(), "unavailable");  // what Connect assigns to 502
  EXPECT_STREQ(proxy.what(),
               "RunWasip1 failed: HTTP 502 Bad Gateway: <html><body>Bad Gateway</body></html>");
  EXPECT_THAT(proxy.hint(), HasSubstr("proxy"));
  auto wrong_path = connect_error(405, "method not allowed\n", "RunWasip1");
  EXPECT_EQ(wrong_path.code(), "unknown");
  EXPECT_THAT(wrong_path.hint(), HasSubstr("base path"));
  auto missing = connect_error(404, "");
  EXPECT_EQ(missing.code(), "unimplemented");
  EXPECT_STREQ(missing.what(), "the call failed: HTTP 404 Not Found");
  EXPECT_EQ(connect_error(401, "unauthorized\n").code(), "unauthenticated");
  EXPECT_THAT(connect_error(401, "unauthorized\n").hint(), HasSubstr("--token"));
}

// An Envelope error as a Broker without Envelope.code (the reference, or ours before it) sends it.
Status text_only(std::string text) {
  return Status{StatusCode::kUnknown, std::move(text)};
}

TEST(EnvelopeError, SplitsTheConnectCodePrefix) {
  auto e = envelope_error(text_only("resource_exhausted: queue full"));
  EXPECT_EQ(e.code(), "resource_exhausted");
  EXPECT_EQ(e.message(), "queue full");
  EXPECT_TRUE(e.queue_full());
  EXPECT_THAT(e.hint(), HasSubstr("WASIMOFF_QUEUE_SIZE"));
  auto other = envelope_error(text_only("not implemented"));
  EXPECT_EQ(other.code(), "unknown");
  EXPECT_EQ(other.message(), "not implemented");
  auto no_code = envelope_error(text_only("something: odd"));
  EXPECT_EQ(no_code.code(), "unknown");
  EXPECT_EQ(no_code.message(), "something: odd");
}

TEST(EnvelopeError, TheEnvelopeCodeWinsAndItsRepeatedPrefixIsDropped) {
  auto e = envelope_error(Status{StatusCode::kResourceExhausted, "resource_exhausted: queue full"});
  EXPECT_EQ(e.code(), "resource_exhausted");
  EXPECT_EQ(e.message(), "queue full");
  EXPECT_TRUE(e.queue_full());
  auto plain = envelope_error(Status{StatusCode::kNotFound, "file not found in storage: x"});
  EXPECT_EQ(plain.code(), "not_found");
  EXPECT_EQ(plain.message(), "file not found in storage: x");
}

TEST(ClientErrorHints, NameTheSettingThatHelps) {
  EXPECT_THAT(envelope_error(text_only("unauthenticated: unauthorized")).hint(),
              HasSubstr("--token"));
  EXPECT_THAT(envelope_error(text_only("deadline_exceeded: deadline exceeded")).hint(),
              HasSubstr("--timeout"));
  EXPECT_THAT(envelope_error(text_only("resource_exhausted: request too large")).hint(),
              HasSubstr("WASIMOFF_MAX_MESSAGE_SIZE"));
  EXPECT_FALSE(envelope_error(text_only("resource_exhausted: request too large")).queue_full());
  EXPECT_THAT(
      envelope_error(text_only("unavailable: qos: no idle workers for immediate mode")).hint(),
      HasSubstr("idle worker"));
  EXPECT_THAT(envelope_error(text_only("unavailable: attempt 1 (p): provider disconnected")).hint(),
              HasSubstr("wasimoff_connected_providers"));
  EXPECT_THAT(unreachable("http://h:1", "Connection refused").hint(), HasSubstr("--broker"));
  EXPECT_THAT(unreachable("https://h:1", "TLS handshake failed: certificate verify failed").hint(),
              HasSubstr("--ca-file"));
  EXPECT_STREQ(unreachable("http://h:1", "Connection refused").what(),
               "cannot reach the broker at http://h:1: Connection refused");
  auto big = http_error("upload of x.wasm", 413, "file too large\n");
  EXPECT_STREQ(big.what(), "upload of x.wasm failed: HTTP 413 Payload Too Large: file too large");
  EXPECT_THAT(big.hint(), HasSubstr("WASIMOFF_MAX_UPLOAD_SIZE"));
  EXPECT_EQ(local_error("x").hint(), "");
}

TEST(BrokerAddress, AcceptsOriginsBasePathsAndBareHostPort) {
  auto a = parse_broker_address("localhost:4080");
  EXPECT_EQ(a.origin(), "http://localhost:4080");
  EXPECT_EQ(a.target("/api/x"), "/api/x");
  EXPECT_EQ(a.websocket_url(), "ws://localhost:4080/api/client/ws");
  auto b = parse_broker_address("https://example.org/wasimoff/");
  EXPECT_EQ(b.origin(), "https://example.org:443");
  EXPECT_EQ(b.base_path, "/wasimoff");
  EXPECT_EQ(b.target("/api/storage/upload"), "/wasimoff/api/storage/upload");
  EXPECT_EQ(b.websocket_url(), "wss://example.org:443/wasimoff/api/client/ws");
  EXPECT_EQ(b.display(), "https://example.org:443/wasimoff");
  EXPECT_EQ(parse_broker_address("http://[::1]:4080").websocket_url(),
            "ws://[::1]:4080/api/client/ws");
  EXPECT_THROW(parse_broker_address("ftp://example.org"), std::invalid_argument);
  EXPECT_THROW(parse_broker_address("http://example.org/?x=1"), std::invalid_argument);
  EXPECT_THROW(parse_broker_address("http://:80"), std::invalid_argument);
}

TEST(StandardHeaders, CarryTheTokenOnlyWhenSet) {
  BrokerOptions o;
  EXPECT_FALSE(standard_headers(o).has("Authorization"));
  o.token = "abc";
  EXPECT_EQ(standard_headers(o).get("Authorization").value_or(""), "Bearer abc");
  EXPECT_THAT(user_agent(o), HasSubstr("wasimoff-cli/"));
}

TEST(ExpandJob, TasksInheritUnsetFieldsWholeFromTheParent) {
  v1::Task::Wasip1::JobRequest job;
  job.mutable_info()->set_reference("ref-1");
  job.mutable_info()->mutable_trace()->set_created(42);
  job.mutable_qos()->set_priority(true);
  auto* parent = job.mutable_parent();
  parent->mutable_binary()->set_ref("p.wasm");
  parent->mutable_rootfs()->set_ref("p.zip");
  parent->set_stdin("parent stdin");
  parent->add_args("p");
  parent->add_envs("A=1");
  parent->add_envs("B=2");
  parent->add_artifacts("out.txt");
  job.add_tasks();  // inherits everything
  auto* t1 = job.add_tasks();
  t1->mutable_binary()->set_ref("own.wasm");
  t1->add_envs("C=3");  // replaces, no merging
  t1->set_stdin("");    // present, even though empty
  t1->add_args("own");
  auto tasks = expand_job(job);
  ASSERT_EQ(tasks.size(), 2u);
  const auto& p0 = tasks[0].params();
  EXPECT_EQ(p0.binary().ref(), "p.wasm");
  EXPECT_EQ(p0.rootfs().ref(), "p.zip");
  EXPECT_EQ(p0.stdin(), "parent stdin");
  EXPECT_THAT(p0.args(), ::testing::ElementsAre("p"));
  EXPECT_THAT(p0.envs(), ::testing::ElementsAre("A=1", "B=2"));
  EXPECT_THAT(p0.artifacts(), ::testing::ElementsAre("out.txt"));
  const auto& p1 = tasks[1].params();
  EXPECT_EQ(p1.binary().ref(), "own.wasm");
  EXPECT_EQ(p1.rootfs().ref(), "p.zip");
  EXPECT_TRUE(p1.has_stdin());
  EXPECT_EQ(p1.stdin(), "");
  EXPECT_THAT(p1.args(), ::testing::ElementsAre("own"));
  EXPECT_THAT(p1.envs(), ::testing::ElementsAre("C=3"));
  for (const auto& t : tasks) {
    EXPECT_TRUE(t.qos().priority());
    EXPECT_EQ(t.info().reference(), "ref-1");
    EXPECT_EQ(t.info().trace().created(), 42);
  }
  v1::Task::Wasip1::JobRequest bare;
  bare.add_tasks()->add_args("x");
  auto plain = expand_job(bare);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].has_qos());
  EXPECT_FALSE(plain[0].info().has_trace());
  EXPECT_FALSE(plain[0].params().has_binary());
}

TEST(SetDeadlineWithin, KeepsAnEarlierDeadline) {
  v1::Task::QoS qos;
  set_deadline_within(&qos, std::chrono::seconds(60));
  ASSERT_TRUE(qos.has_deadline());
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  EXPECT_GE(qos.deadline().seconds(), now_s + 59);
  EXPECT_LE(qos.deadline().seconds(), now_s + 61);
  qos.mutable_deadline()->set_seconds(now_s + 5);
  set_deadline_within(&qos, std::chrono::seconds(60));
  EXPECT_EQ(qos.deadline().seconds(), now_s + 5);
  qos.mutable_deadline()->set_seconds(now_s + 500);
  set_deadline_within(&qos, std::chrono::seconds(60));
  EXPECT_LE(qos.deadline().seconds(), now_s + 61);
}

}  // namespace
}  // namespace wasimoff::client
