// Jobs whose parent fields would be multiplied by their tasks, and tasks larger than the Broker
// may send (security.md "Clients"; docs/scheduling.md §9).
#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

// A job whose parent carries `stdin_bytes` of stdin that each of its `tasks` tasks inherits.
v1::Task::Wasip1::JobRequest fat_parent_job(std::size_t stdin_bytes, int tasks) {
  v1::Task::Wasip1::JobRequest job;
  job.mutable_parent()->mutable_binary()->set_ref("echo.wasm");
  job.mutable_parent()->set_stdin(std::string(stdin_bytes, 's'));
  for (int i = 0; i < tasks; ++i) job.add_tasks()->add_args("echo.wasm");
  return job;
}

constexpr std::size_t kMiB = 1 << 20;

// 300 tasks inheriting a 4 MiB stdin weigh 1.2 GiB when sent; the Broker holds the parent once.
// Before the parent was shared, every queued task held its own copy: the Broker grew by about
// 1.2 GiB for one 5.6 MB request.
TEST_F(BrokerTasks, JobParentFieldsAreSharedNotCopiedPerTask) {
  start_broker({{"WASIMOFF_MAX_JOB_SIZE", "4GiB"}});
  pid_t pid = broker().process().pid();
  auto job = fat_parent_job(4 * kMiB, 300);
  auto before = rss_bytes(pid);
  {
    // Connect with the binary codec; no provider, so all tasks stay queued.
    std::string body = job.SerializeAsString();
    RawRequest call(broker().port(),
                    raw_post("/api/client/wasimoff.v1.Tasks/RunWasip1Job", body,
                             make_headers({{"Content-Type", "application/proto"}})));
    ASSERT_TRUE(wait_queue(300));
    auto grown = rss_bytes(pid) - std::min(before, rss_bytes(pid));
    EXPECT_LT(grown, 256 * kMiB) << "the Broker grew by " << format_bytes(grown);
    call.disconnect();  // the client leaving cancels the job
    ASSERT_TRUE(wait_queue(0));
  }
  {
    // The same job on the client WebSocket.
    ClientSocket client(client_ws_url());
    auto pending = client.call(job);
    ASSERT_TRUE(wait_queue(300));
    auto grown = rss_bytes(pid) - std::min(before, rss_bytes(pid));
    EXPECT_LT(grown, 256 * kMiB) << "the Broker grew by " << format_bytes(grown);
    client.close();
    ASSERT_TRUE(wait_queue(0));
  }
  // Inheritance still hands every task the parent's stdin whole.
  auto p = connect_provider("inherits", 2);
  auto small = fat_parent_job(1000, 3);
  small.mutable_tasks(1)->set_stdin("own");
  auto r = rpc("RunWasip1Job", small.SerializeAsString(), {{"Content-Type", "application/proto"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  ASSERT_EQ(p->requests().size(), 3u);
  std::multiset<std::string> stdins;
  for (const auto& req : p->requests()) stdins.insert(req.params().stdin());
  EXPECT_EQ(stdins,
            (std::multiset<std::string>{std::string(1000, 's'), std::string(1000, 's'), "own"}));
}

TEST_F(BrokerTasks, JobLargerThanTheExpandedBoundIsRefused) {
  start_broker();                            // default WASIMOFF_MAX_JOB_SIZE: 1 GiB
  auto job = fat_parent_job(4 * kMiB, 300);  // 1.2 GiB when every task is sent
  auto r = rpc("RunWasip1Job", job.SerializeAsString(),
               {{"Content-Type", "application/proto"}, {"Connect-Timeout-Ms", "5000"}});
  EXPECT_EQ(r.status, 429u) << r.body;
  auto body = parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), "resource_exhausted") << r.body;
  std::string message(body.at("message").as_string());
  EXPECT_TRUE(message.starts_with("job too large: ")) << message;
  EXPECT_NE(message.find("WASIMOFF_MAX_JOB_SIZE"), std::string::npos) << message;
  EXPECT_EQ(debug_number("queue"), 0u);

  ClientSocket client(client_ws_url());
  auto ws = client.call_as<v1::Task::Wasip1::JobResponse>(job);
  ASSERT_EQ(ws.index(), 1u);
  EXPECT_TRUE(std::get<1>(ws).starts_with("resource_exhausted: job too large: "))
      << std::get<1>(ws);

  // Under the bound the same shape is admitted (the parent weighs 4 MiB per task).
  auto p = connect_provider("fits", 4);
  auto ok = rpc("RunWasip1Job", fat_parent_job(4 * kMiB, 3).SerializeAsString(),
                {{"Content-Type", "application/proto"}});
  EXPECT_EQ(ok.status, 200u);
}

// The Broker never sends a task larger than WASIMOFF_MAX_MESSAGE_SIZE: a provider would close
// its connection (1009) and the task would be retried on the next one.
TEST_F(BrokerTasks, TaskLargerThanTheMessageLimitIsRefusedAtAdmission) {
  start_broker({{"WASIMOFF_MAX_MESSAGE_SIZE", "1MiB"}});
  auto p = connect_provider("small-messages", 2);
  // CGI bodies may be up to WASIMOFF_MAX_UPLOAD_SIZE, but become the task's stdin.
  auto r = http_request("POST", broker().url("/api/client/run/echo.wasm"), {},
                        std::string(2 * kMiB, 'b'));
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.headers.get("X-Wasimoff-Error-Code"), "resource_exhausted");
  EXPECT_TRUE(r.body.starts_with("task too large: ")) << r.body;
  EXPECT_EQ(p->requests().size(), 0u);
  // Under the limit the same route works.
  r = http_request("POST", broker().url("/api/client/run/echo.wasm"), {},
                   std::string(kMiB / 2, 'b'));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_TRUE(p->connected());
}

}  // namespace
}  // namespace wasimoff::testing
