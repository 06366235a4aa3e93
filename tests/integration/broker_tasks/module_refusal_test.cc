// Capability-aware placement (docs/scheduling.md §3, issue 11): a provider that answers a task with
// `unsupported module: …` is not sent that module again on this connection, and the task goes to
// another provider without consuming an attempt; a module nobody can run ends at once; announced
// capabilities (ProviderCapabilities) keep modules away from providers that cannot run
// them; providers that announce nothing (wasimoff v1) are assumed to run everything.
#include "broker_tasks_fixture.h"
#include "common/strings.h"
#include "sync_http.h"
#include "wasm_builder.h"

namespace wasimoff::testing {
namespace {

constexpr const char* kRefusal =
    "unsupported module: imports from wasi_unstable, which this provider does not implement";

// A module importing one function from `module` (a memory with `pages` initial pages).
std::string importing_wasm(const std::string& module, std::uint32_t pages = 1,
                           const std::string& tag = "") {
  WasmBuilder b;
  auto t = b.type("ii", "i");
  b.import_func(module, "args_get", t);
  b.memory(pages);
  if (!tag.empty()) b.custom("tag", tag);
  return b.bytes();
}

std::string run_json(const std::string& binary, const std::string& arg,
                     const std::string& extra = "") {
  return R"({"params":{"binary":{"ref":")" + binary + R"("},"args":["m.wasm",")" + arg + R"("]})" +
         (extra.empty() ? "" : "," + extra) + "}";
}

v1::ProviderCapabilities caps(std::vector<std::string> wasi,
                              std::optional<std::uint64_t> memory = std::nullopt) {
  v1::ProviderCapabilities c;
  for (auto& w : wasi) c.add_wasi(w);
  c.set_pyodide(false);
  if (memory) c.set_memory(*memory);
  return c;
}

std::vector<std::string> trace_details(const json::value& body, const std::string& event) {
  std::vector<std::string> out;
  for (const auto& e : body.at("info").at("trace").at("events").as_array())
    if (e.at("event").as_string() == event) out.emplace_back(e.at("details").as_string());
  return out;
}

class ModuleRefusal : public BrokerTasks {
 public:
  // RunWasip1 of `binary`; expects HTTP 200 and returns the body.
  json::value run(const std::string& binary, const std::string& arg,
                  const std::string& extra = "") {
    auto r = rpc("RunWasip1", run_json(binary, arg, extra));
    EXPECT_EQ(r.status, 200u) << r.body;
    return parse(r.body);
  }
  std::string metrics() { return http_get(broker().url("/metrics")).body; }
  static std::string error_of(const json::value& body) {
    auto* e = body.as_object().if_contains("error");
    return e && e->is_string() ? std::string(e->as_string()) : "";
  }
};

TEST_F(ModuleRefusal, RefusedModuleRunsOnAnotherProviderWithoutConsumingAnAttempt) {
  start_broker();
  std::string module = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  // `native` registers first and is idle, so it is chosen first.
  auto o = provider_options("native", 1);
  o.script = [](const auto&) { return TaskAction::app_error(kRefusal); };
  auto native = connect_provider(o);
  auto browser = connect_provider("browser", 1);

  auto body = run(module, "x", R"("info":{"trace":{}})");
  EXPECT_EQ(error_of(body), "");
  EXPECT_EQ(stdout_of(body), "x\n");
  EXPECT_EQ(provider_of(body), "browser");
  // Two assignments, both "attempt 1": the refusal consumed no attempt.
  EXPECT_EQ(trace_details(body, "BrokerScheduleTask"),
            (std::vector<std::string>{"attempt 1", "attempt 1"}));
  EXPECT_EQ(trace_details(body, "BrokerTransmitProviderTask"),
            (std::vector<std::string>{"native", "browser"}));
  auto m = metrics();
  EXPECT_EQ(metric_value(m, "wasimoff_task_retries_count{attempt=\"2\"}"), 0);
  EXPECT_EQ(metric_value(m, "wasimoff_task_module_refusals_total"), 1);

  // Remembered for this connection: the module never goes to `native` again …
  for (int i = 0; i < 5; ++i) EXPECT_EQ(provider_of(run(module, "again")), "browser");
  EXPECT_EQ(native->requests().size(), 1u);
  // … while other modules still do (it is the idle one again).
  bool native_ran_echo = false;
  for (int i = 0; i < 4 && !native_ran_echo; ++i) {
    native->set_script([](const auto& r) { return TaskAction::echo(r); });
    native_ran_echo = provider_of(run_ok({"echo"})) == "native";
  }
  EXPECT_TRUE(native_ran_echo);
}

TEST_F(ModuleRefusal, InlineBinaryIsRememberedByItsSha256) {
  start_broker();
  auto o = provider_options("native", 1);
  o.script = [](const auto&) { return TaskAction::app_error(kRefusal); };
  auto native = connect_provider(o);
  auto browser = connect_provider("browser", 1);
  std::string blob = base64_encode(importing_wasm("wasi_unstable", 1, "inline"));
  for (int i = 0; i < 3; ++i) {
    auto r = rpc("RunWasip1",
                 R"({"params":{"binary":{"blob":")" + blob + R"("},"args":["m.wasm","i"]}})");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(provider_of(parse(r.body)), "browser");
  }
  EXPECT_EQ(native->requests().size(), 1u);
}

TEST_F(ModuleRefusal, ModuleRefusedByEveryProviderEndsAtOnceWithTheRefusal) {
  start_broker({{"WASIMOFF_TASK_TIMEOUT", "60s"}});
  std::string module = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  std::vector<std::unique_ptr<TestProvider>> providers;
  for (std::string name : {"a", "b"}) {
    auto o = provider_options(name, 1);
    o.script = [](const auto&) { return TaskAction::app_error(kRefusal); };
    providers.push_back(connect_provider(o));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto body = run(module, "x");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_EQ(error_of(body), kRefusal);
  // Both were asked once: one provider's refusal does not end the task while another may run it.
  EXPECT_EQ(providers[0]->requests().size(), 1u);
  EXPECT_EQ(providers[1]->requests().size(), 1u);
  // Known to be refused everywhere: the next task ends at admission, nobody is asked again.
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(run(module, "y")), kRefusal);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(providers[0]->requests().size() + providers[1]->requests().size(), 2u);
  EXPECT_EQ(metric_value(metrics(), "wasimoff_task_retries_count{attempt=\"2\"}"), 0);
}

TEST_F(ModuleRefusal, RefusedTaskWaitsForABusyCapableProviderOrANewcomer) {
  start_broker();
  std::string module = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("native", 1);
  o.script = [](const auto&) { return TaskAction::app_error(kRefusal); };
  auto native = connect_provider(o);
  auto busy = connect_provider("busy", 1);
  busy->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto first = rpc_async("RunWasip1", task_json({"hold"}));
  ASSERT_TRUE(busy->wait_running(1));
  // `native` refuses; `busy` could run it but has no slot: the task waits in the queue.
  auto call = rpc_async("RunWasip1", run_json(module, "queued"));
  ASSERT_TRUE(native->wait_for([&] { return native->requests().size() == 1; }));
  ASSERT_TRUE(wait_queue(1));
  // A provider that registers meanwhile may take it.
  auto newcomer = connect_provider("newcomer", 1);
  auto r = call.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(provider_of(parse(r.body)), "newcomer");
  busy->release_tasks();
  EXPECT_EQ(first.get().status, 200u);
}

TEST_F(ModuleRefusal, AnnouncedCapabilitiesSteerPlacement) {
  start_broker();
  std::string unstable = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  std::string big = upload(importing_wasm("wasi_snapshot_preview1", 4), "big.wasm");
  auto o = provider_options("native", 4);
  o.capabilities = caps({"wasi_snapshot_preview1"}, 2 * 65536);
  auto native = connect_provider(o);
  auto b = provider_options("browser", 4);
  b.capabilities = caps({"wasi_snapshot_preview1", "wasi_unstable"});
  auto browser = connect_provider(b);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(provider_of(run(unstable, "u")), "browser");
    EXPECT_EQ(provider_of(run(big, "m")), "browser");  // 4 pages > the 2 native allows
  }
  EXPECT_EQ(native->requests().size(), 0u);
  // Modules within its announcement still go there.
  bool native_used = false;
  for (int i = 0; i < 4 && !native_used; ++i)
    native_used =
        provider_of(run(
            upload(importing_wasm("wasi_snapshot_preview1", 1, "p" + std::to_string(i)), "p.wasm"),
            "p")) == "native";
  EXPECT_TRUE(native_used);
}

TEST_F(ModuleRefusal, CapabilitiesAreUnderstoodOverTheJsonSubprotocolToo) {
  start_broker();
  std::string unstable = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("native-json", 2);
  o.subprotocols = {"wasimoff_provider_v1_json"};
  o.capabilities = caps({"wasi_snapshot_preview1"}, 1ull << 30);
  auto native = connect_provider(o);
  auto browser = connect_provider("browser", 2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(provider_of(run(unstable, "u")), "browser");
  EXPECT_EQ(native->requests().size(), 0u);
  auto state = debug_provider("native-json");
  EXPECT_EQ(std::string(state.at("capabilities").as_string()),
            "wasi: wasi_snapshot_preview1; memory 1 GiB");
}

TEST_F(ModuleRefusal, ModuleNoRegisteredProviderAnnouncesEndsWithoutBeingSent) {
  start_broker({{"WASIMOFF_TASK_TIMEOUT", "60s"}});
  std::string unstable = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("native", 2);
  o.capabilities = caps({"wasi_snapshot_preview1"});
  auto native = connect_provider(o);
  auto t0 = std::chrono::steady_clock::now();
  auto body = run(unstable, "x");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(error_of(body).rfind("unsupported module: no connected provider can run it", 0), 0u)
      << error_of(body);
  EXPECT_NE(error_of(body).find("wasi_unstable"), std::string::npos);
  EXPECT_EQ(native->requests().size(), 0u);
}

TEST_F(ModuleRefusal, ProviderAnnouncingNothingStillGetsEveryModule) {
  start_broker();
  std::string unstable = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("native", 2);
  o.capabilities = caps({"wasi_snapshot_preview1"});
  auto native = connect_provider(o);
  auto v1 = connect_provider("v1", 2);  // a wasimoff v1 provider: no ProviderCapabilities
  for (int i = 0; i < 3; ++i) EXPECT_EQ(provider_of(run(unstable, "u")), "v1");
  EXPECT_EQ(native->requests().size(), 0u);
  native.reset();
  ASSERT_TRUE(wait_until([&] { return debug_state().at("providers").as_array().size() == 1; }));
  EXPECT_EQ(provider_of(run_ok({"alone"})), "v1");
}

TEST_F(ModuleRefusal, RefusalMemoryDiesWithTheConnection) {
  start_broker();
  std::string module = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("flaky", 1);
  o.script = [](const auto&) { return TaskAction::app_error(kRefusal); };
  auto flaky = connect_provider(o);
  auto other = connect_provider("other", 1);
  EXPECT_EQ(provider_of(run(module, "1")), "other");
  EXPECT_EQ(provider_of(run(module, "2")), "other");
  EXPECT_EQ(flaky->requests().size(), 1u);
  // The same provider reconnects (now able to run it); `other` leaves.
  flaky.reset();
  other.reset();
  ASSERT_TRUE(wait_until([&] { return debug_state().at("providers").as_array().empty(); }));
  auto again = connect_provider("flaky", 1);
  EXPECT_EQ(provider_of(run(module, "3")), "flaky");
  EXPECT_EQ(again->requests().size(), 1u);
}

TEST_F(ModuleRefusal, AnnouncedNoPyodideKeepsPyodideTasksAwayAndTheyWait) {
  start_broker();
  auto o = provider_options("native", 2);
  o.capabilities = caps({"wasi_snapshot_preview1"});  // pyodide: false
  auto native = connect_provider(o);
  auto call = rpc_async("RunPyodide", R"js({"params":{"script":"print(6*7)"}})js");
  ASSERT_TRUE(wait_queue(1));  // waits for a Pyodide provider: kinds do not end tasks
  EXPECT_EQ(call.wait_for(200ms), std::future_status::timeout);
  auto p = provider_options("python", 1);
  p.supports_pyodide = true;
  auto python = connect_provider(p);
  auto r = call.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(provider_of(parse(r.body)), "python");
  EXPECT_TRUE(native->pyodide_requests().empty());
}

TEST_F(ModuleRefusal, V1CompileErrorInTheEnvelopeIsARefusalToo) {
  start_broker();
  std::string module = upload(importing_wasm("wasi_unstable"), "unstable.wasm");
  auto o = provider_options("v1", 1);
  o.script = [](const auto&) {
    return TaskAction::envelope_error("CompileError: WebAssembly.compile(): expected magic word");
  };
  auto v1 = connect_provider(o);
  auto modern = connect_provider("modern", 1);
  auto body = run(module, "x", R"("info":{"trace":{}})");
  EXPECT_EQ(provider_of(body), "modern");
  EXPECT_EQ(trace_details(body, "BrokerScheduleTask"),
            (std::vector<std::string>{"attempt 1", "attempt 1"}));
}

}  // namespace
}  // namespace wasimoff::testing
