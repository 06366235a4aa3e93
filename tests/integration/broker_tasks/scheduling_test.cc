// Provider selection, queueing, retries, cancellation and deadlines (docs/scheduling.md §2–§7)
// observed from the test providers' side.
#include <set>

#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

std::string other_task_json(const std::string& arg) {
  return R"({"params":{"binary":{"ref":"other.wasm"},"args":["other.wasm",")" + arg + R"("]}})";
}

std::vector<std::string> args_seen(const TestProvider& p) {
  std::vector<std::string> out;
  for (const auto& r : p.requests())
    out.push_back(r.params().args_size() > 1 ? r.params().args(1) : "");
  return out;
}

TEST_F(BrokerTasks, FileAffinityPrefersTheProviderHoldingTheBinary) {
  start_broker();
  std::string other_ref = upload(tiny_wasm("other"), "other.wasm");
  // The provider without files registers first, so plain fairness would pick it.
  auto none = connect_provider("no-files", 2);
  auto opts = provider_options("has-echo", 2);
  opts.files = {echo_ref};
  auto has = connect_provider(opts);

  for (int i = 0; i < 4; ++i) EXPECT_EQ(provider_of(run_ok({std::to_string(i)})), "has-echo");
  EXPECT_EQ(none->requests().size(), 0u);

  // A FileSystemUpdate makes the other provider the holder of other.wasm.
  none->add_files({other_ref});
  ASSERT_TRUE(
      wait_until([&] { return debug_provider("no-files").at("files").to_number<int>() == 1; }));
  for (int i = 0; i < 3; ++i) {
    auto r = rpc("RunWasip1", other_task_json(std::to_string(i)));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(provider_of(parse(r.body)), "no-files");
  }
  // After it drops the file, affinity is gone: fairness alternates again.
  none->remove_files({other_ref});
  ASSERT_TRUE(
      wait_until([&] { return debug_provider("no-files").at("files").to_number<int>() == 0; }));
  std::set<std::string> used;
  for (int i = 0; i < 2; ++i)
    used.insert(provider_of(parse(rpc("RunWasip1", other_task_json("x")).body)));
  EXPECT_EQ(used.size(), 2u);
}

TEST_F(BrokerTasks, EqualProvidersTakeTurns) {
  start_broker();
  auto a = connect_provider("turn-a", 2);
  auto b = connect_provider("turn-b", 2);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) order.push_back(provider_of(run_ok({std::to_string(i)})));
  // Equal load: the provider that was assigned a task least recently wins.
  for (std::size_t i = 1; i < order.size(); ++i) EXPECT_NE(order[i], order[i - 1]) << "task " << i;
}

TEST_F(BrokerTasks, LowestLoadRatioWins) {
  start_broker();
  auto big = connect_provider("big", 4);
  auto small = connect_provider("small", 1);
  big->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  small->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  // Five tasks fill both providers exactly: 1/1 and 4/4. Ratios decide who gets each.
  std::vector<std::future<ClientResponse>> calls;
  for (int i = 0; i < 5; ++i)
    calls.push_back(rpc_async("RunWasip1", task_json({std::to_string(i)})));
  ASSERT_TRUE(wait_until([&] { return big->running() == 4 && small->running() == 1; }));
  EXPECT_EQ(big->violations(), 0u);
  EXPECT_EQ(small->violations(), 0u);
  big->release_tasks();
  small->release_tasks();
  for (auto& c : calls) EXPECT_EQ(c.get().status, 200u);
}

TEST_F(BrokerTasks, ProviderKilledMidTaskIsRetriedOnAnother) {
  start_broker();
  auto opts = provider_options("crasher", 1);
  opts.files = {echo_ref};  // affinity: the first attempt goes here
  opts.script = [](const auto&) { return TaskAction::disconnect(); };
  auto crasher = connect_provider(opts);
  auto good = connect_provider("survivor", 1);

  auto body = run_ok({"again"}, R"("info":{"trace":{}})");
  EXPECT_EQ(provider_of(body), "survivor");
  EXPECT_EQ(stdout_of(body), "again\n");
  EXPECT_EQ(crasher->requests().size(), 1u);
  EXPECT_FALSE(crasher->connected());
  // The trace shows both attempts.
  std::vector<std::string> details;
  for (const auto& e : body.at("info").at("trace").at("events").as_array())
    if (e.at("event").as_string() == "BrokerScheduleTask")
      details.emplace_back(e.at("details").as_string());
  EXPECT_EQ(details, (std::vector<std::string>{"attempt 1", "attempt 2"}));
}

TEST_F(BrokerTasks, TaskWaitsWhileNoProviderIsConnectedThenRuns) {
  start_broker();
  {
    auto early = connect_provider("early", 1);
    early->close();
    ASSERT_TRUE(wait_until([&] { return debug_state().at("providers").as_array().empty(); }));
  }
  auto call = rpc_async("RunWasip1", task_json({"waited"}));
  ASSERT_TRUE(wait_queue(1));
  EXPECT_EQ(call.wait_for(0s), std::future_status::timeout);
  auto late = connect_provider("late", 1);
  auto r = call.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(provider_of(parse(r.body)), "late");
  EXPECT_EQ(stdout_of(parse(r.body)), "waited\n");
}

TEST_F(BrokerTasks, ProviderWithZeroCapacityReceivesNothingUntilItGrows) {
  start_broker();
  auto p = connect_provider("zero", 0);
  auto call = rpc_async("RunWasip1", task_json({"later"}));
  ASSERT_TRUE(wait_queue(1));
  EXPECT_EQ(p->requests().size(), 0u);
  p->set_concurrency(1);
  EXPECT_EQ(call.get().status, 200u);
  EXPECT_EQ(p->requests().size(), 1u);
}

TEST_F(BrokerTasks, ClientDisconnectCancelsTheRunningTask) {
  start_broker();
  auto p = connect_provider("cancel-me", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  RawRequest raw(broker().port(),
                 raw_post("/api/client/wasimoff.v1.Tasks/RunWasip1", task_json({"x"})));
  ASSERT_TRUE(p->wait_running(1));
  raw.disconnect();
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  auto cancel = p->cancels()[0];
  EXPECT_EQ(cancel.id(), p->requests()[0].info().id());
  EXPECT_EQ(cancel.reason(), "context canceled");
  // The slot is free again: the next task runs on the same provider.
  p->set_script({});
  ASSERT_TRUE(
      wait_until([&] { return debug_provider("cancel-me").at("active").to_number<int>() == 0; }));
  EXPECT_EQ(stdout_of(run_ok({"next"})), "next\n");
  EXPECT_EQ(p->violations(), 0u);
}

TEST_F(BrokerTasks, ClientDisconnectDropsTheQueuedTask) {
  start_broker();
  {
    RawRequest raw(broker().port(),
                   raw_post("/api/client/wasimoff.v1.Tasks/RunWasip1", task_json({"x"})));
    ASSERT_TRUE(wait_queue(1));
  }
  ASSERT_TRUE(wait_queue(0));
  auto p = connect_provider("after", 1);
  EXPECT_EQ(stdout_of(run_ok({"only"})), "only\n");
  EXPECT_EQ(args_seen(*p), std::vector<std::string>{"only"});
}

TEST_F(BrokerTasks, ConnectTimeoutCancelsTheRunningTask) {
  start_broker();
  auto p = connect_provider("slow", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto r = rpc("RunWasip1", task_json({"x"}), {{"Connect-Timeout-Ms", "700"}});
  EXPECT_EQ(r.status, 504u);
  auto body = parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), "deadline_exceeded");
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  EXPECT_EQ(p->cancels()[0].reason(), "deadline exceeded");
  // The effective deadline was forwarded in qos.deadline.
  ASSERT_EQ(p->requests().size(), 1u);
  EXPECT_TRUE(p->requests()[0].qos().has_deadline());
}

TEST_F(BrokerTasks, QosDeadlineCancelsTheRunningTaskAndIsForwarded) {
  start_broker();
  auto p = connect_provider("slow", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  std::string deadline = rfc3339_from_now(1500ms);
  auto r = rpc("RunWasip1", task_json({"x"}, R"("qos":{"deadline":")" + deadline + R"("})"));
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(parse(r.body).at("code").as_string(), "deadline_exceeded");
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  EXPECT_EQ(p->cancels()[0].reason(), "deadline exceeded");
  ASSERT_EQ(p->requests().size(), 1u);
  auto fwd = p->requests()[0].qos().deadline();
  // The forwarded deadline is the one the client gave (millisecond precision).
  std::int64_t ms = fwd.seconds() * 1000 + fwd.nanos() / 1000000;
  auto client_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LT(ms, client_ms + 1000);  // not a later deadline (e.g. a default timeout)
  EXPECT_GT(ms, client_ms - 60000);
}

TEST_F(BrokerTasks, DeadlineInThePastFailsWithoutRunning) {
  start_broker();
  auto p = connect_provider("idle", 1);
  auto r = rpc("RunWasip1",
               task_json({"x"}, R"("qos":{"deadline":")" + rfc3339_from_now(-2000ms) + R"("})"));
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(parse(r.body).at("code").as_string(), "deadline_exceeded");
  EXPECT_EQ(p->requests().size(), 0u);
}

TEST_F(BrokerTasks, DeadlineRemovesAQueuedTask) {
  start_broker();
  auto r = rpc("RunWasip1", task_json({"x"}), {{"Connect-Timeout-Ms", "300"}});
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(parse(r.body).at("code").as_string(), "deadline_exceeded");
  EXPECT_EQ(debug_number("queue"), 0u);
}

TEST_F(BrokerTasks, FarFutureDeadlineIsNoDeadline) {
  start_broker();
  auto p = connect_provider("patient", 1);
  for (std::string when : {"2200-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    auto r = rpc("RunWasip1", task_json({when}, R"("qos":{"deadline":")" + when + R"("})"));
    EXPECT_EQ(r.status, 200u) << when << ": " << r.body;
  }
}

TEST_F(BrokerTasks, JobDeadlineFailsTheWholeJob) {
  start_broker();
  auto p = connect_provider("job-slow", 2);
  p->set_script([](const v1::Task::Wasip1::Request& r) {
    return r.params().args(1) == "fast" ? TaskAction::echo(r) : TaskAction::echo(r).held();
  });
  std::string job = R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{"args":["e","fast"]},)"
                    R"({"args":["e","slow1"]},{"args":["e","slow2"]},{"args":["e","slow3"]}]})";
  auto r = rpc("RunWasip1Job", job, {{"Connect-Timeout-Ms", "1500"}});
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_EQ(parse(r.body).at("code").as_string(), "deadline_exceeded");
  // The running tasks were cancelled; the queued one never started.
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 2; }));
  for (const auto& c : p->cancels()) EXPECT_EQ(c.reason(), "deadline exceeded");
  ASSERT_TRUE(
      wait_until([&] { return debug_number("queue") == 0 && debug_number("active") == 0; }));
  EXPECT_EQ(p->requests().size(), 3u);

  // The same with the job's qos.deadline.
  std::string job_qos =
      R"({"qos":{"deadline":")" + rfc3339_from_now(1500ms) +
      R"("},"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{"args":["e","slow"]}]})";
  auto q = rpc("RunWasip1Job", job_qos);
  EXPECT_EQ(q.status, 504u) << q.body;
}

TEST_F(BrokerTasks, JobClientDisconnectCancelsEveryTask) {
  start_broker();
  auto p = connect_provider("job-held", 2);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  std::string job = R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{"args":["e","1"]},)"
                    R"({"args":["e","2"]},{"args":["e","3"]}]})";
  RawRequest raw(broker().port(), raw_post("/api/client/wasimoff.v1.Tasks/RunWasip1Job", job));
  ASSERT_TRUE(p->wait_running(2));
  ASSERT_TRUE(wait_queue(1));
  raw.disconnect();
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 2; }));
  for (const auto& c : p->cancels()) EXPECT_EQ(c.reason(), "context canceled");
  ASSERT_TRUE(wait_queue(0));
  ASSERT_TRUE(wait_until([&] { return debug_number("active") == 0; }));
  EXPECT_EQ(p->requests().size(), 2u);
}

TEST_F(BrokerTasks, TaskTimeoutBoundsEveryTask) {
  start_broker({{"WASIMOFF_TASK_TIMEOUT", "1s"}});
  auto p = connect_provider("slow", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto r = rpc("RunWasip1", task_json({"x"}));
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(parse(r.body).at("code").as_string(), "deadline_exceeded");
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  EXPECT_EQ(p->cancels()[0].reason(), "deadline exceeded");
}

TEST_F(BrokerTasks, FullQueueAnswers429AndAdmittedTasksStillRun) {
  start_broker({{"WASIMOFF_QUEUE_SIZE", "2"}});
  auto first = rpc_async("RunWasip1", task_json({"1"}));
  ASSERT_TRUE(wait_queue(1));
  auto second = rpc_async("RunWasip1", task_json({"2"}));
  ASSERT_TRUE(wait_queue(2));
  auto r = rpc("RunWasip1", task_json({"3"}));
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.headers.get("Retry-After"), "1");
  auto body = parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), "resource_exhausted");
  EXPECT_EQ(body.at("message").as_string(), "queue full");

  // A job that does not fit is refused as a whole; one larger than the queue is invalid.
  std::string job2 = R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{},{}]})";
  EXPECT_EQ(rpc("RunWasip1Job", job2).status, 429u);
  std::string job3 = R"({"parent":{"binary":{"ref":"echo.wasm"}},"tasks":[{},{},{}]})";
  auto big = rpc("RunWasip1Job", job3);
  EXPECT_EQ(big.status, 400u);
  EXPECT_EQ(parse(big.body).at("code").as_string(), "invalid_argument");

  auto p = connect_provider("drain", 1);
  EXPECT_EQ(stdout_of(parse(first.get().body)), "1\n");
  EXPECT_EQ(stdout_of(parse(second.get().body)), "2\n");
  EXPECT_EQ(args_seen(*p), (std::vector<std::string>{"1", "2"}));
}

TEST_F(BrokerTasks, ImmediateWithoutFreeSlotFailsFast) {
  start_broker();
  std::string immediate = task_json({"now"}, R"("qos":{"immediate":true})");
  auto none = rpc("RunWasip1", immediate);
  EXPECT_EQ(none.status, 503u);
  EXPECT_EQ(parse(none.body).at("code").as_string(), "unavailable");
  EXPECT_EQ(parse(none.body).at("message").as_string(), "qos: no idle workers for immediate mode");

  auto p = connect_provider("busy", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto running = rpc_async("RunWasip1", task_json({"long"}));
  ASSERT_TRUE(p->wait_running(1));
  auto busy = rpc("RunWasip1", immediate);
  EXPECT_EQ(busy.status, 503u);
  EXPECT_EQ(parse(busy.body).at("message").as_string(), "qos: no idle workers for immediate mode");
  EXPECT_EQ(debug_number("queue"), 0u);  // never queued

  p->set_script({});
  p->release_tasks();
  EXPECT_EQ(running.get().status, 200u);
  auto free = rpc("RunWasip1", immediate);
  EXPECT_EQ(free.status, 200u) << free.body;
  EXPECT_EQ(stdout_of(parse(free.body)), "now\n");
}

TEST_F(BrokerTasks, TenFailedAttemptsReportEveryAttempt) {
  start_broker();
  auto o1 = provider_options("flaky-a", 1);
  o1.script = [](const auto&) { return TaskAction::envelope_error("disk on fire"); };
  auto o2 = provider_options("flaky-b", 1);
  o2.script = o1.script;
  auto a = connect_provider(o1);
  auto b = connect_provider(o2);
  auto r = rpc("RunWasip1", task_json({"x"}));
  ASSERT_EQ(r.status, 503u) << r.body;
  auto body = parse(r.body);
  EXPECT_EQ(body.at("code").as_string(), "unavailable");
  auto lines = split(std::string_view(body.at("message").as_string()), '\n');
  ASSERT_EQ(lines.size(), 10u) << body.at("message").as_string();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string n = std::to_string(i + 1);
    bool ok = lines[i] == "attempt " + n + " (flaky-a): disk on fire" ||
              lines[i] == "attempt " + n + " (flaky-b): disk on fire";
    EXPECT_TRUE(ok) << lines[i];
  }
  EXPECT_EQ(a->requests().size() + b->requests().size(), 10u);
  // The avoid list sends each retry to the other provider.
  for (std::size_t i = 1; i < lines.size(); ++i)
    EXPECT_NE(lines[i].substr(lines[i].find('(')), lines[i - 1].substr(lines[i - 1].find('(')))
        << i;
}

TEST_F(BrokerTasks, ApplicationErrorsAreNotRetried) {
  start_broker();
  auto o = provider_options("app-error", 1);
  o.script = [](const auto&) { return TaskAction::app_error("trap: unreachable"); };
  auto p = connect_provider(o);
  auto r = rpc("RunWasip1", task_json({"x"}));
  ASSERT_EQ(r.status, 200u);
  auto body = parse(r.body);
  EXPECT_EQ(body.at("error").as_string(), "trap: unreachable");
  EXPECT_EQ(body.at("info").at("provider").as_string(), "app-error");
  EXPECT_EQ(p->requests().size(), 1u);
}

TEST_F(BrokerTasks, NotImplementedRequeuesWithoutConsumingAnAttempt) {
  start_broker();
  auto wasm_only = connect_provider("wasm-only", 2);
  auto call =
      rpc_async("RunPyodide", R"js({"info":{"trace":{}},"params":{"script":"print(6*7)"}})js");
  ASSERT_TRUE(wasm_only->wait_for([&] { return wasm_only->pyodide_requests().size() == 1; }));
  ASSERT_TRUE(wait_queue(1));  // back in the queue, waiting for a Pyodide provider
  EXPECT_EQ(call.wait_for(0s), std::future_status::timeout);
  // Wasip1 tasks still go to the provider that refused Pyodide.
  EXPECT_EQ(provider_of(run_ok({"still"})), "wasm-only");

  auto opts = provider_options("python", 1);
  opts.supports_pyodide = true;
  auto python = connect_provider(opts);
  auto r = call.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = parse(r.body);
  EXPECT_EQ(body.at("info").at("provider").as_string(), "python");
  std::vector<std::string> attempts;
  for (const auto& e : body.at("info").at("trace").at("events").as_array())
    if (e.at("event").as_string() == "BrokerScheduleTask")
      attempts.emplace_back(e.at("details").as_string());
  EXPECT_EQ(attempts, (std::vector<std::string>{"attempt 1", "attempt 1"}));
  EXPECT_EQ(wasm_only->pyodide_requests().size(), 1u);  // never asked again
}

TEST_F(BrokerTasks, V1NotImplementedYetAlsoRequeues) {
  start_broker();
  auto o = provider_options("old", 1);
  o.files = {echo_ref};  // first choice
  o.script = [](const auto&) { return TaskAction::envelope_error("not implemented yet"); };
  auto old = connect_provider(o);
  auto modern = connect_provider("modern", 1);
  auto body = run_ok({"x"}, R"("info":{"trace":{}})");
  EXPECT_EQ(provider_of(body), "modern");
  std::vector<std::string> attempts;
  for (const auto& e : body.at("info").at("trace").at("events").as_array())
    if (e.at("event").as_string() == "BrokerScheduleTask")
      attempts.emplace_back(e.at("details").as_string());
  EXPECT_EQ(attempts, (std::vector<std::string>{"attempt 1", "attempt 1"}));
  // Marked as not running wasip1: the next task does not even try it.
  EXPECT_EQ(provider_of(run_ok({"y"})), "modern");
  EXPECT_EQ(old->requests().size(), 1u);
}

TEST_F(BrokerTasks, PriorityTasksJumpTheQueue) {
  start_broker();
  auto p = connect_provider("serial", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  std::vector<std::future<ClientResponse>> calls;
  calls.push_back(rpc_async("RunWasip1", task_json({"first"})));
  ASSERT_TRUE(p->wait_running(1));
  std::uint64_t queued = 0;
  for (auto [arg, prio] : std::vector<std::pair<std::string, bool>>{
           {"n1", false}, {"n2", false}, {"p1", true}, {"n3", false}, {"p2", true}}) {
    calls.push_back(
        rpc_async("RunWasip1", task_json({arg}, prio ? R"("qos":{"priority":true})" : "")));
    ASSERT_TRUE(wait_queue(++queued));
  }
  for (std::size_t n = 1; n <= 6; ++n) {
    ASSERT_TRUE(p->wait_for([&] { return p->requests().size() == n && p->held() == 1; })) << n;
    p->release_tasks();
  }
  for (auto& c : calls) EXPECT_EQ(c.get().status, 200u);
  EXPECT_EQ(args_seen(*p), (std::vector<std::string>{"first", "p1", "p2", "n1", "n2", "n3"}));
}

TEST_F(BrokerTasks, ConcurrencyIsNeverExceededUnderABurst) {
  start_broker();
  auto jitter = [](const v1::Task::Wasip1::Request& r) {
    static thread_local unsigned n = 0;
    return TaskAction::echo(r).after(std::chrono::milliseconds(++n % 3));
  };
  auto oa = provider_options("burst-a", 4);
  oa.script = jitter;
  auto ob = provider_options("burst-b", 3);
  ob.script = jitter;
  ob.subprotocols = {"wasimoff_provider_v1_json"};
  auto a = connect_provider(oa);
  auto b = connect_provider(ob);

  ClientSocket client(client_ws_url());
  constexpr int kTasks = 1000;
  std::vector<std::future<protocol::CallResult>> calls;
  for (int i = 0; i < kTasks; ++i) {
    v1::Task::Wasip1::Request req;
    req.mutable_params()->mutable_binary()->set_ref("echo.wasm");
    req.mutable_params()->add_args("echo.wasm");
    req.mutable_params()->add_args(std::to_string(i));
    calls.push_back(client.call(req));
  }
  auto answered = [&] { return a->answered() + b->answered(); };
  ASSERT_TRUE(wait_until([&] { return answered() >= 250; }, 120s));
  a->set_concurrency(8);
  b->set_concurrency(1);
  ASSERT_TRUE(wait_until([&] { return answered() >= 500; }, 120s));
  b->set_concurrency(0);
  a->set_concurrency(2);
  ASSERT_TRUE(wait_until([&] { return answered() >= 750; }, 120s));
  b->set_concurrency(5);

  for (int i = 0; i < kTasks; ++i) {
    ASSERT_EQ(calls[i].wait_for(120s), std::future_status::ready) << "task " << i;
    auto r = calls[i].get();
    ASSERT_TRUE(r.ok()) << r.error();
    v1::Task::Wasip1::Response resp;
    ASSERT_EQ(protocol::unpack_any(r.payload, &resp), protocol::UnpackStatus::kOk);
    EXPECT_EQ(resp.ok().stdout(), std::to_string(i) + "\n");
  }
  EXPECT_EQ(a->violations(), 0u);
  EXPECT_EQ(b->violations(), 0u);
  EXPECT_LE(a->max_running(), 8u);
  EXPECT_LE(b->max_running(), 5u);
  EXPECT_EQ(a->requests().size() + b->requests().size(), static_cast<std::size_t>(kTasks));
  std::set<std::string> ids;
  for (const auto* p : {a.get(), b.get()})
    for (const auto& r : p->requests()) ids.insert(r.info().id());
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks));  // every task exactly once
}

}  // namespace
}  // namespace wasimoff::testing

namespace wasimoff::testing {
namespace {

TEST_F(BrokerTasks, ShutdownCancelsRunningTasksAndClosesProvidersNormally) {
  start_broker();
  auto p = connect_provider("stays", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto running = rpc_async("RunWasip1", task_json({"running"}));
  ASSERT_TRUE(p->wait_running(1));
  auto queued = rpc_async("RunWasip1", task_json({"queued"}));
  ASSERT_TRUE(wait_queue(1));

  EXPECT_EQ(broker().stop(), 0);
  for (auto* call : {&running, &queued}) {
    auto r = call->get();
    EXPECT_EQ(r.status, 503u) << r.body;
    EXPECT_EQ(parse(r.body).at("message").as_string(), "broker shutting down");
  }
  // The running task was cancelled (docs/scheduling.md §6), then the connection closed normally.
  ASSERT_TRUE(p->wait_disconnected());
  auto cancels = p->cancels();
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].reason(), "broker shutting down");
  ASSERT_TRUE(p->close_frame().has_value());
  EXPECT_EQ(p->close_frame()->code, 1000);
  EXPECT_EQ(p->close_frame()->reason, "broker shutting down");
}

}  // namespace
}  // namespace wasimoff::testing
