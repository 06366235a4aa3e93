// A provider answer larger than WASIMOFF_MAX_MESSAGE_SIZE ends its connection (1009); the task
// must not be retried on and on (security.md "Providers as seen by the Broker").
#include "broker_tasks_fixture.h"

namespace wasimoff::testing {
namespace {

// A result larger than WASIMOFF_MAX_MESSAGE_SIZE closes the provider's connection (1009). The
// task is not retried on and on: after the second such close it fails with `output too large`.
TEST_F(BrokerTasks, OversizedAnswersFailTheTaskInsteadOfLooping) {
  start_broker({{"WASIMOFF_MAX_MESSAGE_SIZE", "1MiB"}});
  std::vector<std::unique_ptr<TestProvider>> providers;
  for (const char* name : {"big-a", "big-b", "big-c"}) {
    auto o = provider_options(name, 1);
    o.script = [](const auto&) { return TaskAction::oversized(2 << 20); };
    providers.push_back(connect_provider(o));
  }
  auto r = rpc("RunWasip1", task_json({"huge"}), {}, 30s);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = parse(r.body);
  std::string error(body.at("error").as_string());
  EXPECT_TRUE(error.starts_with("output too large: ")) << error;
  std::size_t closed = 0, asked = 0;
  for (auto& p : providers) {
    asked += p->requests().size();
    if (p->wait_disconnected(5s)) {
      ++closed;
      ASSERT_TRUE(p->close_frame().has_value());
      EXPECT_EQ(p->close_frame()->code, 1009);
    }
  }
  EXPECT_EQ(asked, 2u);
  EXPECT_EQ(closed, 2u);
}

}  // namespace
}  // namespace wasimoff::testing
