// Capability-aware placement with the real native provider (docs/scheduling.md §3, issue 11): it
// announces what it runs, a module it cannot run goes to a provider that can (here a scripted
// stand-in for a browser) without consuming an attempt, and a module nobody connected can run
// ends at once with a clear error instead of waiting for the task timeout.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_cluster.h"
#include "test_provider.h"
#include "wasimoff/v1/extensions.pb.h"
#include "wasm_builder.h"

namespace wasimoff::testing {
namespace {

using namespace std::chrono_literals;

// A WASI command that imports `proc_exit` from `module` and exits 0.
std::string command_importing(const std::string& module) {
  WasmBuilder b;
  std::uint32_t exit_type = b.type("i", "");
  std::uint32_t start_type = b.type("", "");
  std::uint32_t proc_exit = b.import_func(module, "proc_exit", exit_type);
  b.memory(1);
  std::string body = WasmBuilder::i32(0) + "\x10";
  WasmBuilder::leb(body, proc_exit);
  std::uint32_t start = b.func(start_type, 0, body);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b.bytes();
}

// Imports nothing and exports no _start: the native provider refuses it, the announcement
// (which only covers imports and memory) does not rule it out.
std::string reactor_module() {
  WasmBuilder b;
  b.memory(1);
  b.export_("memory", 2, 0);
  return b.bytes();
}

std::string ws_url(const BrokerProcess& broker) {
  std::string http = broker.url();
  return "ws://" + http.substr(http.find("://") + 3) + "/api/provider/ws";
}

std::vector<std::string> schedule_details(const v1::Task::Wasip1::Response& r) {
  std::vector<std::string> out;
  for (const auto& e : r.info().trace().events())
    if (e.event() == v1::Task::TraceEvent::BrokerScheduleTask) out.push_back(e.details());
  return out;
}

TEST(ProviderCapabilities, NativeProviderAnnouncesItsWasiModulesAndMemoryLimit) {
  BrokerProcess broker({{"WASIMOFF_DEBUG", "true"}, {"WASIMOFF_TASK_TIMEOUT", "5m"}});
  BrokerApi api(broker.url());
  NativeProvider native(broker.url(), ProviderSpec{"native", "websocket", 1});
  ASSERT_TRUE(api.wait_registered("native", 60s)) << native.log();
  auto state = api.provider_state("native");
  ASSERT_TRUE(state);
  EXPECT_EQ(std::string(state->at("capabilities").as_string()),
            "wasi: wasi_snapshot_preview1, wasi_unstable; memory 1 GiB");

  // Only the native provider is connected: a module importing from a module name it does not
  // announce ends at once, unsent.
  std::string unstable = api.upload(command_importing("env"), "env.wasm");
  v1::Task::Wasip1::Request req;
  req.mutable_params()->mutable_binary()->set_ref(unstable);
  auto t0 = std::chrono::steady_clock::now();
  auto r = api.run(req, 2min);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_THAT(r.error(), ::testing::StartsWith("unsupported module: no connected provider can run "
                                               "it: it imports from \"env\""));
  EXPECT_EQ(api.metric_sum("wasimoff_task_module_refusals_total"), 0);

  // A provider that can run it (a browser would; this stand-in echoes) gets it.
  TestProviderOptions o;
  o.url = ws_url(broker);
  o.name = "browser";
  v1::ProviderCapabilities caps;
  caps.add_wasi("wasi_snapshot_preview1");
  caps.add_wasi("env");
  o.capabilities = caps;
  TestProvider browser(o);
  ASSERT_TRUE(browser.wait_registered());
  for (int i = 0; i < 3; ++i) {
    auto ok = api.run(req, 2min);
    EXPECT_TRUE(ok.has_ok()) << ok.error();
    EXPECT_EQ(ok.info().provider(), "browser");
  }
  EXPECT_EQ(api.metric_sum("wasimoff_task_module_refusals_total"), 0) << "steered, not refused";
}

TEST(ProviderCapabilities, NativeRefusalSendsTheTaskElsewhereWithoutAnAttempt) {
  BrokerProcess broker({{"WASIMOFF_DEBUG", "true"}, {"WASIMOFF_TASK_TIMEOUT", "5m"}});
  BrokerApi api(broker.url());
  NativeProvider native(broker.url(), ProviderSpec{"native", "websocket", 1});
  ASSERT_TRUE(api.wait_registered("native", 60s)) << native.log();
  // Registered second and idle too: the native provider is asked first.
  TestProviderOptions o;
  o.url = ws_url(broker);
  o.name = "v1-browser";  // announces nothing, like a wasimoff v1 provider
  TestProvider browser(o);
  ASSERT_TRUE(browser.wait_registered());

  std::string reactor = api.upload(reactor_module(), "reactor.wasm");
  v1::Task::Wasip1::Request req;
  req.mutable_params()->mutable_binary()->set_ref(reactor);
  req.mutable_params()->add_args("reactor.wasm");
  req.mutable_info()->mutable_trace();
  auto r = api.run(req, 2min);
  ASSERT_TRUE(r.has_ok()) << r.error() << "\n" << native.log();
  EXPECT_EQ(r.info().provider(), "v1-browser");
  EXPECT_EQ(schedule_details(r), (std::vector<std::string>{"attempt 1", "attempt 1"}));
  EXPECT_EQ(api.metric_sum("wasimoff_task_module_refusals_total"), 1);
  EXPECT_EQ(api.metric_sum("wasimoff_task_retries_count"), 0);
  // Remembered: the next task with this module goes straight to the other provider.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(api.run(req, 2min).info().provider(), "v1-browser");
  EXPECT_EQ(api.metric_sum("wasimoff_task_module_refusals_total"), 1);

  // Without the other provider, the remembered refusal is the answer at once.
  browser.close();
  ASSERT_TRUE(api.wait_unregistered("v1-browser", 30s));
  auto t0 = std::chrono::steady_clock::now();
  auto refused = api.run(req, 2min);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_THAT(refused.error(), ::testing::StartsWith("unsupported module: "));
}

}  // namespace
}  // namespace wasimoff::testing
