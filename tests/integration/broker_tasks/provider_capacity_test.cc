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

}  // namespace
}  // namespace wasimoff::testing
