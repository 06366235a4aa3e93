// What one provider can take from the Broker (security.md "Providers as seen by the Broker"):
// the capacity it announces is capped, and no attempt is held forever.
#include "broker_tasks_fixture.h"

namespace wasimoff::testing {
namespace {

double metric(const std::string& url, const std::string& series) {
  return metric_value(http_get(url).body, series);
}

TEST_F(BrokerTasks, AnnouncedConcurrencyIsCapped) {
  start_broker({{"WASIMOFF_MAX_PROVIDER_CONCURRENCY", "4"}});
  auto go = provider_options("greedy", 4294967295u);
  go.script = [](const auto&) { return TaskAction::no_answer(); };
  auto greedy = connect_provider(go);
  EXPECT_EQ(debug_provider("greedy").at("capacity").to_number<std::uint64_t>(), 4u);
  auto honest = connect_provider("honest", 2);
  std::vector<std::future<ClientResponse>> calls;
  for (int i = 0; i < 20; ++i) calls.push_back(rpc_async("RunWasip1", task_json({"t"})));
  ASSERT_TRUE(honest->wait_for([&] { return honest->answered() >= 16; }, 60s))
      << "honest ran " << honest->answered() << ", greedy holds " << greedy->running();
  EXPECT_LE(greedy->requests().size(), 4u);
  EXPECT_EQ(greedy->violations(), 0u);
  EXPECT_EQ(metric(broker().url("/metrics"), R"(wasimoff_available_workers{type="providers"})"),
            6.0);
  greedy->kill();  // the held tasks are retried on the honest provider
  for (auto& c : calls) EXPECT_EQ(c.get().status, 200u);
}

TEST_F(BrokerTasks, AttemptTimeoutCancelsRetriesElsewhereAndPenalisesTheProvider) {
  start_broker({{"WASIMOFF_ATTEMPT_TIMEOUT", "1s"}});
  auto ho = provider_options("holder", 3);
  ho.script = [](const auto&) { return TaskAction::no_answer(); };
  auto holder = connect_provider(ho);
  auto first = rpc_async("RunWasip1", task_json({"first"}));
  ASSERT_TRUE(holder->wait_running(1));
  auto finisher = connect_provider("finisher", 1);
  auto r = first.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(provider_of(parse(r.body)), "finisher");
  ASSERT_TRUE(holder->wait_for([&] { return !holder->cancels().empty(); }));
  EXPECT_EQ(holder->cancels()[0].reason(), "attempt timeout");
  EXPECT_TRUE(holder->connected());  // one strike
  EXPECT_GE(metric(broker().url("/metrics"), "wasimoff_task_attempt_timeouts_total"), 1.0);

  // Two more timeouts in a row: the session is closed with a clear reason.
  finisher->close();
  ASSERT_TRUE(wait_until([&] { return debug_provider("finisher").is_null(); }));
  auto second = rpc_async("RunWasip1", task_json({"second"}));
  auto third = rpc_async("RunWasip1", task_json({"third"}));
  ASSERT_TRUE(holder->wait_disconnected(20s));
  ASSERT_TRUE(holder->close_frame().has_value());
  EXPECT_EQ(holder->close_frame()->code, 1011);
  EXPECT_EQ(holder->close_frame()->reason, "3 task attempts in a row timed out");
  EXPECT_TRUE(broker().process().wait_for_stderr("3 task attempts in a row timed out", 5s));
  EXPECT_EQ(metric(broker().url("/metrics"), "wasimoff_provider_timeout_closes_total"), 1.0);
  // The tasks are not lost: a healthy provider runs them.
  auto rescue = connect_provider("rescue", 2);
  for (auto* f : {&second, &third}) {
    auto res = f->get();
    ASSERT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(provider_of(parse(res.body)), "rescue");
  }
}

}  // namespace
}  // namespace wasimoff::testing
