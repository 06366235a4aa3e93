// TaskService: validation and file resolution (docs/scheduling.md §10), job inheritance (§9),
// admission errors that never reach a provider.
#include "broker/tasks/task_service.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "broker/storage/memory_storage.h"
#include "common/file_ref.h"
#include "common/strings.h"
#include "run_sync.h"

namespace wasimoff::broker {
namespace {

using namespace std::chrono_literals;

const std::string kWasm = std::string("\0asm\x01\0\0\0", 8);
const std::string kZip = std::string("PK\x05\x06", 4) + std::string(18, '\0');

class TaskServiceTest : public ::testing::Test {
 protected:
  TaskServiceTest() {
    wasm_ref = storage.store(kWasm, "m.wasm").ref;
    zip_ref = storage.store(kZip, "root.zip").ref;
  }

  std::optional<Status> resolve(v1::Task::Wasip1::Params& params,
                                std::vector<std::string>* refs = nullptr) {
    std::vector<std::string> local;
    return service.resolve_wasip1(params, refs ? *refs : local);
  }

  // Runs `call` to completion on the loop.
  template <typename T>
  T run(awaitable<T> call) {
    std::optional<T> out;
    asio::co_spawn(io, testing::store_result(std::move(call), out), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.run_for(10s);
    io.restart();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }

  asio::io_context io;
  asio::thread_pool pool{1};
  MemoryStorage storage;
  ProviderRegistry registry{io.get_executor()};
  Scheduler scheduler{io.get_executor(), registry, Scheduler::Options{4}};
  TaskService service{
      TaskService::Options{storage, scheduler, pool, 4, 1 << 20, std::chrono::milliseconds(0)}};
  std::string wasm_ref, zip_ref;
};

TEST_F(TaskServiceTest, BinaryIsRequired) {
  v1::Task::Wasip1::Params p;
  auto err = resolve(p);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code_name(), "invalid_argument");
  EXPECT_EQ(err->message(), "binary is required");
}

TEST_F(TaskServiceTest, BlobOrRefButNotBothNorNeither) {
  v1::Task::Wasip1::Params both;
  both.mutable_binary()->set_ref("m.wasm");
  both.mutable_binary()->set_blob(kWasm);
  auto err = resolve(both);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code_name(), "invalid_argument");
  EXPECT_NE(err->message().find("use either blob or ref, not both"), std::string::npos)
      << err->message();

  v1::Task::Wasip1::Params neither;
  neither.mutable_binary()->set_media("application/wasm");
  err = resolve(neither);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message().find("file needs a blob or a ref"), std::string::npos) << err->message();
}

TEST_F(TaskServiceTest, InlineBlobsAreCheckedAndNotStored) {
  v1::Task::Wasip1::Params p;
  p.mutable_binary()->set_blob(kWasm + "x");
  std::vector<std::string> refs;
  EXPECT_FALSE(resolve(p, &refs));
  EXPECT_TRUE(refs.empty());  // inline blobs require no file
  EXPECT_EQ(p.binary().media(), "application/wasm");
  EXPECT_FALSE(storage.exists(make_ref(kWasm + "x")));

  v1::Task::Wasip1::Params not_wasm;
  not_wasm.mutable_binary()->set_blob("hello");
  EXPECT_EQ(resolve(not_wasm)->code_name(), "invalid_argument");

  v1::Task::Wasip1::Params wrong_media;
  wrong_media.mutable_binary()->set_blob(kWasm);
  wrong_media.mutable_binary()->set_media("application/zip");
  EXPECT_EQ(resolve(wrong_media)->code_name(), "invalid_argument");

  v1::Task::Wasip1::Params zip_rootfs;
  zip_rootfs.mutable_binary()->set_blob(kWasm);
  zip_rootfs.mutable_rootfs()->set_blob(kZip);
  EXPECT_FALSE(resolve(zip_rootfs));
  zip_rootfs.mutable_rootfs()->set_blob(kWasm);
  EXPECT_EQ(resolve(zip_rootfs)->code_name(), "invalid_argument");
}

TEST_F(TaskServiceTest, RefsAndAliasesResolveToCanonicalRefs) {
  v1::Task::Wasip1::Params by_alias;
  by_alias.mutable_binary()->set_ref("m.wasm");
  by_alias.mutable_rootfs()->set_ref("root.zip");
  std::vector<std::string> refs;
  EXPECT_FALSE(resolve(by_alias, &refs));
  EXPECT_EQ(by_alias.binary().ref(), wasm_ref);
  EXPECT_EQ(by_alias.binary().media(), "application/wasm");
  EXPECT_EQ(by_alias.rootfs().ref(), zip_ref);
  EXPECT_EQ(by_alias.rootfs().media(), "application/zip");
  EXPECT_EQ(refs, (std::vector<std::string>{wasm_ref, zip_ref}));

  v1::Task::Wasip1::Params upper;
  upper.mutable_binary()->set_ref("sha256:" + to_upper(wasm_ref.substr(7)));
  EXPECT_FALSE(resolve(upper));
  EXPECT_EQ(upper.binary().ref(), wasm_ref);
}

TEST_F(TaskServiceTest, WrongKindsAndMissingFiles) {
  v1::Task::Wasip1::Params zip_as_binary;
  zip_as_binary.mutable_binary()->set_ref("root.zip");
  EXPECT_EQ(resolve(zip_as_binary)->code_name(), "invalid_argument");

  v1::Task::Wasip1::Params wasm_as_rootfs;
  wasm_as_rootfs.mutable_binary()->set_ref("m.wasm");
  wasm_as_rootfs.mutable_rootfs()->set_ref("m.wasm");
  EXPECT_EQ(resolve(wasm_as_rootfs)->code_name(), "invalid_argument");

  v1::Task::Wasip1::Params missing;
  missing.mutable_binary()->set_ref("Nope.wasm");
  auto err = resolve(missing);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code_name(), "not_found");
  EXPECT_EQ(err->message(), "file not found in storage: Nope.wasm");  // the ref as given

  // All problems together, the first one's code.
  v1::Task::Wasip1::Params two;
  two.mutable_binary()->set_blob("not wasm");
  two.mutable_rootfs()->set_ref("gone.zip");
  err = resolve(two);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code_name(), "invalid_argument");
  EXPECT_EQ(err->message(),
            "binary is not a WebAssembly module; file not found in storage: gone.zip");
}

TEST_F(TaskServiceTest, InheritanceCopiesUnsetFieldsWhole) {
  v1::Task::Wasip1::Params parent;
  parent.mutable_binary()->set_ref("m.wasm");
  parent.add_args("p");
  parent.add_envs("A=1");
  parent.add_envs("B=2");
  parent.set_stdin("in");
  parent.add_artifacts("out");
  v1::Task::Wasip1::Params task;
  task.add_envs("C=3");
  task.set_stdin("");  // present (empty) stdin is kept
  inherit_params(parent, task);
  EXPECT_EQ(task.binary().ref(), "m.wasm");
  ASSERT_EQ(task.args_size(), 1);
  EXPECT_EQ(task.args(0), "p");
  ASSERT_EQ(task.envs_size(), 1);  // replaced, not merged
  EXPECT_EQ(task.envs(0), "C=3");
  EXPECT_TRUE(task.has_stdin());
  EXPECT_EQ(task.stdin(), "");
  EXPECT_FALSE(task.has_rootfs());
  ASSERT_EQ(task.artifacts_size(), 1);
}

TEST_F(TaskServiceTest, RpcErrorsBeforeAdmission) {
  v1::Task::Wasip1::Request no_params;
  auto out = run(service.run_wasip1(no_params, ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code_name(), "invalid_argument");

  v1::Task::Wasip1::Request past;
  past.mutable_params()->mutable_binary()->set_ref("m.wasm");
  ClientContext late{"127.0.0.1:1", std::chrono::system_clock::now() - 1s};
  out = run(service.run_wasip1(past, late));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code_name(), "deadline_exceeded");

  v1::Task::Pyodide::Request no_script;
  no_script.mutable_params();
  auto py = run(service.run_pyodide(no_script, ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(py.ok());
  EXPECT_EQ(py.status().code_name(), "invalid_argument");

  v1::Task::Wasip1::JobRequest empty;
  auto job = run(service.run_wasip1_job(empty, ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code_name(), "invalid_argument");

  v1::Task::Wasip1::JobRequest big;  // more tasks than the queue holds (4)
  big.mutable_parent()->mutable_binary()->set_ref("m.wasm");
  for (int i = 0; i < 5; ++i) big.add_tasks();
  job = run(service.run_wasip1_job(big, ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code_name(), "invalid_argument");
  EXPECT_TRUE(job.status().message().starts_with("job too large")) << job.status().message();
  EXPECT_EQ(scheduler.queued(), 0u);
}

// WASIMOFF_MAX_JOB_SIZE counts what every task weighs when sent, inherited fields included;
// WASIMOFF_MAX_MESSAGE_SIZE bounds each task on its own.
TEST_F(TaskServiceTest, JobAndTaskSizeBounds) {
  Scheduler big_queue{io.get_executor(), registry, Scheduler::Options{100}};
  TaskService sized{TaskService::Options{storage, big_queue, pool, 100, 1 << 20,
                                         std::chrono::milliseconds(0), 64 << 10, 40 << 10}};
  auto job_of = [](int tasks, std::size_t stdin_bytes) {
    v1::Task::Wasip1::JobRequest job;
    job.mutable_parent()->mutable_binary()->set_ref("m.wasm");
    job.mutable_parent()->set_stdin(std::string(stdin_bytes, 's'));
    for (int i = 0; i < tasks; ++i) job.add_tasks();
    return job;
  };
  // 10 × 4 KiB inherited = 40 KiB plus metadata: over the bound, nothing is queued.
  auto out = run(sized.run_wasip1_job(job_of(10, 4 << 10), ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code_name(), "resource_exhausted");
  EXPECT_TRUE(out.status().message().starts_with("job too large: ")) << out.status().message();
  EXPECT_EQ(big_queue.queued(), 0u);
  // Tasks that set their own stdin do not inherit the parent's: the same job fits.
  auto own = job_of(10, 4 << 10);
  for (auto& t : *own.mutable_tasks()) t.set_stdin("x");
  ClientContext gone{"127.0.0.1:1"};
  OneShotEvent left(io.get_executor());
  gone.gone = &left;
  left.set();  // the client is gone at once: the job is admitted, then cancelled
  out = run(sized.run_wasip1_job(own, gone));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code_name(), "canceled");
  // One task over WASIMOFF_MAX_MESSAGE_SIZE fails alone.
  v1::Task::Wasip1::Request single;
  single.mutable_params()->mutable_binary()->set_ref("m.wasm");
  single.mutable_params()->set_stdin(std::string(64 << 10, 'x'));
  auto one = run(sized.run_wasip1(single, ClientContext{"127.0.0.1:1"}));
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.status().code_name(), "resource_exhausted");
  EXPECT_TRUE(one.status().message().starts_with("task too large: ")) << one.status().message();
}

TEST_F(TaskServiceTest, UploadRules) {
  v1::Filesystem::Upload::Request up;
  auto out = run(service.upload(up));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code_name(), "invalid_argument");

  up.mutable_upload()->set_blob("text, not wasm");
  out = run(service.upload(up));
  EXPECT_EQ(out.status().message(), "unsupported filetype");

  up.mutable_upload()->set_blob(kWasm + "u");
  up.mutable_upload()->set_ref("sha256:" + std::string(64, '0'));
  out = run(service.upload(up));
  EXPECT_EQ(out.status().message(), "hash mismatch");

  up.mutable_upload()->set_ref("u.wasm");
  out = run(service.upload(up));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->ref(), make_ref(kWasm + "u"));
  EXPECT_EQ(storage.resolve("u.wasm")->ref, make_ref(kWasm + "u"));

  up.mutable_upload()->set_blob(std::string(2 << 20, 'x').replace(0, 8, kWasm));  // > 1 MiB limit
  up.mutable_upload()->clear_ref();
  out = run(service.upload(up));
  EXPECT_EQ(out.status().code_name(), "resource_exhausted");
}

}  // namespace
}  // namespace wasimoff::broker
