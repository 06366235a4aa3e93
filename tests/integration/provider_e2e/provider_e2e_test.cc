// End-to-end: the real Broker with real native providers (wasm2c-compiled modules in worker
// processes), one over WebSocket and one over WebTransport, sharing every job.
//
// The cluster is shared by all cases of this binary (one CTest test): every provider compiles a
// module once (seconds on a loaded machine), so the suite warms both providers up front and the
// cases reuse the compiled modules. The failover cases add a third provider and SIGKILL it
// mid-job; the two steady providers stay connected throughout.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <iostream>
#include <set>
#include <thread>

#include "common/zip_archive.h"
#include "e2e_cluster.h"
#include "protocol/codec.h"
#include "wasm_builder.h"

namespace wasimoff::testing {
namespace {

using namespace std::chrono_literals;
using v1::Task;

constexpr const char* kWsName = "e2e-ws";
constexpr const char* kWtName = "e2e-wt";

class ProviderE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      broker_ = std::make_unique<BrokerProcess>(
          std::map<std::string, std::string>{{"WASIMOFF_DEBUG", "true"}});
      api_ = std::make_unique<BrokerApi>(broker_->url());
      ws_ = std::make_unique<NativeProvider>(broker_->url(), ProviderSpec{kWsName, "websocket", 2});
      wt_ = std::make_unique<NativeProvider>(broker_->url(),
                                             ProviderSpec{kWtName, "webtransport", 2});
      for (auto* p : {ws_.get(), wt_.get()})
        if (!api_->wait_registered(p->name(), 60s))
          throw std::runtime_error(p->name() + " did not register:\n" + p->log());
      hello_ref_ = api_->upload(example_bytes("hello.wasm"), "hello.wasm");
      tsp_ref_ = api_->upload(example_bytes("tsp.wasm"), "tsp.wasm");
      // Compile both modules on both providers: with all four slots free the Broker spreads
      // four tasks two by two (lowest load ratio first).
      for (const char* module : {"hello.wasm", "tsp.wasm"}) {
        auto job = warm_up_job(module, 4);
        auto r = api_->run_job(job, 10min);
        for (const auto& t : r.tasks())
          if (!t.has_ok())
            throw std::runtime_error(std::string("warm-up of ") + module + " failed: " + t.error());
      }
      ready_ = true;
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  static void TearDownTestSuite() {
    ws_.reset();
    wt_.reset();
    api_.reset();
    broker_.reset();
  }

  void SetUp() override {
    if (!ready_) FAIL() << "cluster setup failed: " << setup_error_;
  }

  static Task::Wasip1::JobRequest warm_up_job(const std::string& module, int tasks) {
    Task::Wasip1::JobRequest job;
    job.mutable_info()->set_reference("warm-up");
    job.mutable_parent()->mutable_binary()->set_ref(module);
    for (int i = 0; i < tasks; ++i) {
      auto* t = job.add_tasks();
      t->add_args(module);
      if (module == "tsp.wasm") {
        t->add_args("rand");
        t->add_args("5");
      }
    }
    return job;
  }

  // A job of `count` tasks `tsp.wasm rand <cities> <seed>` with seeds 1..count.
  static Task::Wasip1::JobRequest tsp_job(int cities, int count, const std::string& reference) {
    Task::Wasip1::JobRequest job;
    job.mutable_info()->set_reference(reference);
    job.mutable_parent()->mutable_binary()->set_ref("tsp.wasm");
    for (int i = 0; i < count; ++i) {
      auto* t = job.add_tasks();
      for (const auto& a : {std::string("tsp.wasm"), std::string("rand"), std::to_string(cities),
                            std::to_string(i + 1)})
        t->add_args(a);
    }
    return job;
  }

  // Every task of a `tsp rand <cities> <seed>` job is present, in request order, succeeded and
  // printed exactly what the native build prints for its seed.
  static void expect_tsp_results(const Task::Wasip1::JobRequest& job,
                                 const Task::Wasip1::JobResponse& r) {
    ASSERT_FALSE(r.has_error()) << r.error();
    ASSERT_EQ(r.tasks_size(), job.tasks_size());
    for (int i = 0; i < r.tasks_size(); ++i) {
      const auto& t = r.tasks(i);
      SCOPED_TRACE("task " + std::to_string(i));
      EXPECT_EQ(t.info().id(), r.info().id() + "/" + std::to_string(i));
      ASSERT_TRUE(t.has_ok()) << "error: " << t.error();
      EXPECT_EQ(t.ok().status(), 0);
      const auto& args = job.tasks(i).args();
      EXPECT_EQ(t.ok().stdout(), native_tsp(std::stoi(args[2]), std::stoi(args[3])));
      EXPECT_EQ(t.ok().stderr(), "");
    }
  }

  // SIGKILL a freshly joined provider while it runs tasks of a long job; the job must still
  // deliver every result, correct and in order, from the two providers that stay connected.
  static void kill_provider_mid_job(const std::string& transport);

  static inline std::unique_ptr<BrokerProcess> broker_;
  static inline std::unique_ptr<BrokerApi> api_;
  static inline std::unique_ptr<NativeProvider> ws_;
  static inline std::unique_ptr<NativeProvider> wt_;
  static inline std::string hello_ref_, tsp_ref_;
  static inline bool ready_ = false;
  static inline std::string setup_error_;
};

TEST_F(ProviderE2E, EachProviderUsesTheTransportItWasStartedWith) {
  auto ws = api_->provider_state(kWsName);
  auto wt = api_->provider_state(kWtName);
  ASSERT_TRUE(ws && wt) << boost::json::serialize(api_->debug_state());
  EXPECT_EQ(ws->at("transport").as_string(), "websocket");
  EXPECT_EQ(wt->at("transport").as_string(), "webtransport");
  EXPECT_EQ(ws->at("capacity").to_number<int>(), 2);
  EXPECT_EQ(wt->at("capacity").to_number<int>(), 2);
  for (auto* p : {ws_.get(), wt_.get()}) {
    auto agent = std::string(api_->provider_state(p->name())->at("useragent").as_string());
    EXPECT_EQ(agent.rfind("wasimoff-provider/", 0), 0u) << agent;
  }
  EXPECT_NE(wt_->log().find("via webtransport"), std::string::npos) << wt_->log();
  EXPECT_EQ(wt_->log().find("using WebSocket"), std::string::npos) << wt_->log();
  EXPECT_NE(ws_->log().find("via websocket"), std::string::npos) << ws_->log();
  EXPECT_EQ(api_->metric_sum("wasimoff_connected_providers"), 2);
}

// --- hello with a rootfs and artifacts -------------------------------------------------------

struct HelloCase {
  std::string rootfs;                        // the ZIP
  std::map<std::string, std::string> files;  // its files
  std::vector<std::string> args = {"hello.wasm", "--cat", "/data/input.txt", "--exit",
                                   "5",          "wörld", "two words"};
  std::vector<std::string> envs = {"GREETING=hi", "EMPTY="};
  std::vector<std::string> artifacts = {"hello.txt", "/data", "missing.txt", "config.ini"};

  HelloCase() {
    std::string blob(1000, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7);
    files = {{"config.ini", "mode=test\n"},
             {"data/input.txt", "line one\nline two\n"},
             {"data/nested/deep.bin", blob}};
    ZipWriter zip;
    zip.add_directory("empty", 1700000000);
    for (const auto& [name, data] : files) zip.add_file(name, data, 1700000000);
    rootfs = zip.finish();
  }

  std::string hello_txt() const {
    std::string out =
        "hello.txt written by hello.wasm with " + std::to_string(args.size()) + " argument(s)\n";
    for (std::size_t i = 1; i < args.size(); ++i)
      out += "arg " + std::to_string(i) + ": " + args[i] + "\n";
    return out;
  }

  // The exact stdout of one run with `stdin` (which must end with a newline): a fresh instance
  // sees only the rootfs (no /hello.txt left over from an earlier task on the same worker).
  std::string expected_stdout(const std::string& stdin_text) const {
    std::string out = "hello from wasimoff\nargc: " + std::to_string(args.size()) + "\n";
    for (std::size_t i = 0; i < args.size(); ++i)
      out += "argv[" + std::to_string(i) + "]: " + args[i] + "\n";
    out += "envc: " + std::to_string(envs.size()) + "\n";
    for (std::size_t i = 0; i < envs.size(); ++i)
      out += "env[" + std::to_string(i) + "]: " + envs[i] + "\n";
    out += "files under /:\n";
    out += "  /config.ini 10 bytes\n";
    out += "  /data/\n";
    out += "  /data/input.txt 18 bytes\n";
    out += "  /data/nested/\n";
    out += "  /data/nested/deep.bin 1000 bytes\n";
    out += "  /empty/\n";
    out += "--- /data/input.txt\nline one\nline two\n--- end of /data/input.txt\n";
    std::size_t start = 0;
    while (start < stdin_text.size()) {
      auto nl = stdin_text.find('\n', start);
      out += "stdin> " + stdin_text.substr(start, nl - start + 1);
      start = nl + 1;
    }
    out += "stdin: " + std::to_string(stdin_text.size()) + " bytes\n";
    out += "wrote /hello.txt: " + std::to_string(hello_txt().size()) + " bytes\n";
    return out;
  }

  Task::Wasip1::Params params(const std::string& rootfs_ref, const std::string& stdin_text) const {
    Task::Wasip1::Params p;
    p.mutable_binary()->set_ref("hello.wasm");
    p.mutable_rootfs()->set_ref(rootfs_ref);
    for (const auto& a : args) p.add_args(a);
    for (const auto& e : envs) p.add_envs(e);
    for (const auto& a : artifacts) p.add_artifacts(a);
    p.set_stdin(stdin_text);
    return p;
  }

  // The returned artifacts: exactly the requested files that exist (directories recursively,
  // the missing path skipped), with their content.
  void expect_result(const Task::Wasip1::Response& r, const std::string& stdin_text) const {
    ASSERT_TRUE(r.has_ok()) << "error: " << r.error();
    EXPECT_EQ(r.ok().status(), 5);
    EXPECT_EQ(r.ok().stdout(), expected_stdout(stdin_text));
    EXPECT_EQ(r.ok().stderr(), "hello: done, exit status 5\n");
    ASSERT_TRUE(r.ok().has_artifacts());
    EXPECT_EQ(r.ok().artifacts().media(), "application/zip");
    std::map<std::string, std::string> got;
    for (auto& e : read_zip(r.ok().artifacts().blob()))
      if (!e.is_directory) got[e.name] = e.data;
    std::map<std::string, std::string> want = files;
    want["hello.txt"] = hello_txt();
    EXPECT_EQ(got, want);
  }
};

TEST_F(ProviderE2E, HelloWithRootfsAndArtifactsRunsOnBothTransports) {
  HelloCase hello;
  auto rootfs_ref = api_->upload(hello.rootfs, "hello-rootfs.zip");
  ASSERT_EQ(rootfs_ref.rfind("sha256:", 0), 0u) << rootfs_ref;

  // One task through RunWasip1, the rootfs by alias.
  Task::Wasip1::Request single;
  single.mutable_info()->set_reference("hello-single");
  *single.mutable_params() = hello.params("hello-rootfs.zip", "first line\nsecond line\n");
  auto r = api_->run(single);
  EXPECT_EQ(r.info().reference(), "hello-single");
  EXPECT_TRUE(r.info().provider() == kWsName || r.info().provider() == kWtName)
      << r.info().provider();
  hello.expect_result(r, "first line\nsecond line\n");

  // Eight tasks inheriting everything but stdin from the job's parent: more tasks than slots, so
  // workers are reused, and both providers (both transports) run some of them.
  Task::Wasip1::JobRequest job;
  job.mutable_info()->set_reference("hello-job");
  *job.mutable_parent() = hello.params(rootfs_ref, "");
  for (int i = 0; i < 8; ++i) job.add_tasks()->set_stdin("task " + std::to_string(i) + "\n");
  auto jr = api_->run_job(job);
  ASSERT_EQ(jr.tasks_size(), 8);
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("job task " + std::to_string(i));
    EXPECT_EQ(jr.tasks(i).info().id(), jr.info().id() + "/" + std::to_string(i));
    EXPECT_EQ(jr.tasks(i).info().reference(), "hello-job");
    hello.expect_result(jr.tasks(i), "task " + std::to_string(i) + "\n");
  }
  auto per_provider = tasks_per_provider(jr);
  EXPECT_GT(per_provider[kWsName], 0);
  EXPECT_GT(per_provider[kWtName], 0);
}

TEST_F(ProviderE2E, WasiUnstableModuleRunsOnBothTransports) {
  // Issue 11: a module importing `wasi_unstable` (WASI preview 0) instead of
  // `wasi_snapshot_preview1` runs on the native providers like the browser page runs it.
  std::string wasm = hello_module("hello from wasi_unstable\n", "wasi_unstable").bytes();
  api_->upload(wasm, "hello-unstable.wasm");
  Task::Wasip1::JobRequest job;
  job.mutable_info()->set_reference("hello-unstable");
  job.mutable_parent()->mutable_binary()->set_ref("hello-unstable.wasm");
  for (int i = 0; i < 8; ++i) job.add_tasks()->add_args("hello-unstable.wasm");
  auto jr = api_->run_job(job, 10min);
  ASSERT_FALSE(jr.has_error()) << jr.error();
  ASSERT_EQ(jr.tasks_size(), 8);
  for (int i = 0; i < 8; ++i) {
    SCOPED_TRACE("task " + std::to_string(i));
    ASSERT_TRUE(jr.tasks(i).has_ok()) << "error: " << jr.tasks(i).error();
    EXPECT_EQ(jr.tasks(i).ok().status(), 0);
    EXPECT_EQ(jr.tasks(i).ok().stdout(), "hello from wasi_unstable\n");
  }
  auto per_provider = tasks_per_provider(jr);
  EXPECT_EQ(per_provider[kWsName] + per_provider[kWtName], 8);
}

TEST_F(ProviderE2E, Tsp200JobFileIsSharedByBothProvidersAndMatchesNativeResults) {
  Task::Wasip1::JobRequest job;
  auto json = read_file(source_dir() + "/examples/jobs/tsp-200.json");
  ASSERT_EQ(protocol::decode_json(json, &job), "");
  ASSERT_EQ(job.tasks_size(), 200);
  auto r = api_->run_job(job);
  expect_tsp_results(job, r);
  for (const auto& t : r.tasks()) EXPECT_EQ(t.info().reference(), "tsp-200");
  auto per_provider = tasks_per_provider(r);
  EXPECT_EQ(per_provider.size(), 2u);
  EXPECT_GT(per_provider[kWsName], 0);
  EXPECT_GT(per_provider[kWtName], 0);
}

void ProviderE2E::kill_provider_mid_job(const std::string& transport) {
  NativeProvider victim(broker_->url(), ProviderSpec{"e2e-victim-" + transport, transport, 2});
  ASSERT_TRUE(api_->wait_registered(victim.name(), 60s)) << victim.log();
  // Let the victim compile tsp first, so it is killed while executing, not while compiling.
  // Three providers with free slots: a job of six spreads two by two.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = api_->run_job(warm_up_job("tsp.wasm", 6), 10min);
    if (tasks_per_provider(r)[victim.name()] > 0) break;
  }
  const double retries_before = api_->metric_sum("wasimoff_task_retries_count");
  const double completed_before = api_->metric_sum("wasimoff_tasks_completed_count");

  // Kill once a quarter of the job is done (all three providers have been working on it) and the
  // victim is running tasks right now.
  auto job = tsp_job(9, 240, "failover-" + transport);
  auto pending = std::async(std::launch::async, [&job] { return api_->run_job(job, 10min); });
  bool busy = false;
  auto end = std::chrono::steady_clock::now() + 5min;
  while (!busy && std::chrono::steady_clock::now() < end &&
         pending.wait_for(0s) != std::future_status::ready) {
    auto p = api_->provider_state(victim.name());
    busy = p && p->at("active").to_number<int>() > 0 &&
           api_->metric_sum("wasimoff_tasks_completed_count") - completed_before >=
               job.tasks_size() / 4;
    if (!busy) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(busy)
      << "the victim was never busy after a quarter of the job (job finished early?)\n"
      << victim.log();
  ASSERT_NE(pending.wait_for(0s), std::future_status::ready) << "the job ended before the kill";
  const auto workers = victim.children();
  EXPECT_GE(workers.size(), 2u) << "one pre-started worker process per slot";
  EXPECT_EQ(victim.kill9(), 128 + SIGKILL);

  Task::Wasip1::JobResponse r;
  try {
    r = pending.get();
  } catch (const std::exception& e) {
    FAIL() << "the job failed after the provider was killed: " << e.what();
  }
  expect_tsp_results(job, r);
  // The victim's running tasks were lost with it and had to be retried elsewhere.
  const double retries = api_->metric_sum("wasimoff_task_retries_count") - retries_before;
  EXPECT_GT(retries, 0);
  auto per_provider = tasks_per_provider(r);
  std::cout << "[   INFO   ] " << transport << " victim: finished " << per_provider[victim.name()]
            << " of " << job.tasks_size() << " tasks before SIGKILL; " << retries << " retries; "
            << kWsName << " " << per_provider[kWsName] << ", " << kWtName << " "
            << per_provider[kWtName] << "\n";
  EXPECT_TRUE(api_->wait_unregistered(victim.name(), 60s));
  EXPECT_TRUE(api_->wait_registered(kWsName, 1s));
  EXPECT_TRUE(api_->wait_registered(kWtName, 1s));
  // Its workers noticed the supervisor's death and exited: no orphaned worker processes.
  auto gone = std::chrono::steady_clock::now() + 20s;
  while (NativeProvider::still_running(workers) > 0 && std::chrono::steady_clock::now() < gone)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(NativeProvider::still_running(workers), 0u)
      << "worker processes of the killed provider are still running";
}

TEST_F(ProviderE2E, KilledWebSocketProviderMidJobLosesNoTask) {
  kill_provider_mid_job("websocket");
}

TEST_F(ProviderE2E, KilledWebTransportProviderMidJobLosesNoTask) {
  kill_provider_mid_job("webtransport");
}

}  // namespace
}  // namespace wasimoff::testing
