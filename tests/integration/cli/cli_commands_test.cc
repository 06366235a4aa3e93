// The wasimoff CLI against a real Broker and native provider: every command, both transports,
// results on the terminal and in --out directories, exit statuses, and the error paths a user
// meets (unknown ref, broker down, bad task files, tokens, timeouts, failing tasks).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "cli_harness.h"
#include "common/file_ref.h"
#include "common/zip_archive.h"
#include "sync_http.h"

namespace wasimoff::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string example(const std::string& name) {
  return examples_dir() + "/" + name;
}

// One Broker + provider for all tests of this file (hello.wasm is compiled once).
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster();
    // The aliases `make run` creates, which the example job files use.
    for (std::string name : {"hello.wasm", "fib.wasm"}) {
      auto r = run_cli({"upload", "--name", name, example(name)}, {cluster_->url()});
      ASSERT_EQ(r.status, 0) << describe(r);
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  CliResult cli(const std::vector<std::string>& args, const std::string& stdin_data = {}) {
    CliCall call;
    call.broker = cluster_->url();
    call.cwd = dir_.path();
    call.stdin_data = stdin_data;
    return run_cli(args, call);
  }

  static Cluster* cluster_;
  TempDir dir_;
};

Cluster* CliTest::cluster_ = nullptr;

TEST_F(CliTest, UploadPrintsTheRefAndStoresTheName) {
  std::string bytes = read_file(example("fib.wasm"));
  auto r = cli({"upload", example("fib.wasm"), "--name", "cli-fib.wasm"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, make_ref(bytes) + "\n");
  auto head = http_request("HEAD", cluster_->url("/api/storage/cli-fib.wasm"));
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.headers.get("x-wasimoff-ref").value_or(""), make_ref(bytes));
}

TEST_F(CliTest, UploadRejectsFilesThatAreNeitherWasmNorZip) {
  dir_.write("notes.txt", "not a module\n");
  auto r = cli({"upload", "notes.txt"});
  EXPECT_EQ(r.status, 125) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("notes.txt is neither a WebAssembly module nor a ZIP archive"));
}

TEST_F(CliTest, ExecPassesArgumentsEnvironmentAndStdin) {
  auto r = cli({"exec", "-e", "GREETING=hi", "--stdin", example("hello.wasm"), "one", "two words",
                "--not-an-option-of-ours"},
               "first line\nsecond\n");
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("argv[0]: hello.wasm\n"));
  EXPECT_THAT(r.out, HasSubstr("argv[1]: one\n"));
  EXPECT_THAT(r.out, HasSubstr("argv[2]: two words\n"));
  EXPECT_THAT(r.out, HasSubstr("argv[3]: --not-an-option-of-ours\n"));
  EXPECT_THAT(r.out, HasSubstr("env[0]: GREETING=hi\n"));
  EXPECT_THAT(r.out, HasSubstr("stdin> first line\nstdin> second\n"));
  EXPECT_THAT(r.err, HasSubstr("hello: done, exit status 0"));  // the task's stderr
}

TEST_F(CliTest, ExecStdinFromAFile) {
  dir_.write("input.txt", "from a file\n");
  auto r = cli({"exec", "--stdin=input.txt", "hello.wasm"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("stdin> from a file\n"));
}

TEST_F(CliTest, ExecUploadsALocalModuleOnlyOnce) {
  fs::copy_file(example("fib.wasm"), dir_.file("my-fib.wasm"));
  auto first = cli({"-v", "exec", "./my-fib.wasm", "iter", "10"});
  ASSERT_EQ(first.status, 0) << describe(first);
  EXPECT_EQ(first.out, "fib(10) = 55\n");
  auto second = cli({"exec", "-v", "./my-fib.wasm", "iter", "11"});
  ASSERT_EQ(second.status, 0) << describe(second);
  EXPECT_EQ(second.out, "fib(11) = 89\n");
  EXPECT_THAT(second.err, HasSubstr("is already stored as sha256:"));
  EXPECT_THAT(second.err, Not(HasSubstr("uploaded")));
}

TEST_F(CliTest, ExecExitStatusIsTheTasks) {
  auto r = cli({"exec", "hello.wasm", "--exit", "3"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("argv[2]: 3\n"));
  auto big = cli({"exec", fixture("exit300.wasm")});
  EXPECT_EQ(big.status, 255) << describe(big);
  EXPECT_THAT(big.err, HasSubstr("exit status 300 does not fit"));
}

TEST_F(CliTest, ExecOfATrappingModuleExits126) {
  for (bool ws : {false, true}) {
    std::vector<std::string> args = {"exec", fixture("trap.wasm")};
    if (ws) args.insert(args.begin() + 1, "--ws");
    auto r = cli(args);
    EXPECT_EQ(r.status, 126) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("wasimoff: task failed: trap: unreachable executed"));
  }
}

TEST_F(CliTest, ExecWithRootfsAndArtifactsIntoAnOutputDirectory) {
  ZipWriter zip;
  zip.add_directory("data", 0);
  zip.add_file("data/in.txt", "content of in.txt\n", 0);
  dir_.write("root.zip", zip.finish());
  auto r = cli({"exec", "--rootfs", "root.zip", "-a", "hello.txt", "-a", "data", "--out", "res",
                "hello.wasm", "--cat", "/data/in.txt"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "");  // everything went into res/
  std::string out = read_file(dir_.file("res/stdout"));
  EXPECT_THAT(out, HasSubstr("content of in.txt"));
  EXPECT_THAT(out, HasSubstr("data/in.txt"));  // the rootfs listing
  EXPECT_THAT(read_file(dir_.file("res/stderr")), HasSubstr("hello: done, exit status 0"));
  EXPECT_THAT(read_file(dir_.file("res/artifacts/hello.txt")), HasSubstr("hello"));
  EXPECT_EQ(read_file(dir_.file("res/artifacts/data/in.txt")), "content of in.txt\n");
  std::string result = read_file(dir_.file("res/result.json"));
  EXPECT_THAT(result, HasSubstr("\"status\":0"));
  EXPECT_THAT(result, HasSubstr("\"provider\":\"test-provider\""));
  EXPECT_THAT(result, Not(HasSubstr("\"stdout\"")));
}

TEST_F(CliTest, ExecArtifactsWithoutOutLandInTheWorkingDirectory) {
  auto r = cli({"exec", "--ws", "--artifact", "hello.txt", "hello.wasm", "x"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_THAT(read_file(dir_.file("hello.txt")), HasSubstr("x"));
}

TEST_F(CliTest, ExecTraceShowsTheTimelineOfEveryComponent) {
  auto r = cli({"exec", "--trace", "fib.wasm", "iter", "5"});
  ASSERT_EQ(r.status, 0) << describe(r);
  std::vector<std::string> order = {"ClientTransmitRequest",        "BrokerReceivedClientRequest",
                                    "BrokerTransmitProviderTask",   "ProviderWorkerExecute",
                                    "BrokerTransmitClientResponse", "ClientReceivedResponse"};
  std::size_t at = 0;
  for (const auto& name : order) {
    auto pos = r.err.find(name, at);
    ASSERT_NE(pos, std::string::npos) << name << " missing or out of order in:\n" << r.err;
    at = pos;
  }
  EXPECT_THAT(r.err, HasSubstr("(provider test-provider)"));
}

TEST_F(CliTest, ExecOfAnUnknownNameExplainsWhatToDo) {
  for (bool ws : {false, true}) {
    std::vector<std::string> args = {"exec", "nope.wasm"};
    if (ws) args.insert(args.begin() + 1, "--ws");
    auto r = cli(args);
    EXPECT_EQ(r.status, 125) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("wasimoff: not_found: file not found in storage: nope.wasm"));
    EXPECT_THAT(r.err, HasSubstr("hint: upload the file first"));
  }
  auto missing = cli({"exec", "./missing/prog.wasm"});
  EXPECT_EQ(missing.status, 125) << describe(missing);
  EXPECT_THAT(missing.err, HasSubstr("no such file: ./missing/prog.wasm"));
}

TEST_F(CliTest, RunTaskFileWithAStoredName) {
  auto r = cli({"run", source_dir() + "/examples/jobs/hello-task.json"});
  EXPECT_EQ(r.status, 7) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("argv[3]: world\n"));
  EXPECT_THAT(r.out, HasSubstr("stdin> some input\n"));
  EXPECT_TRUE(fs::exists(dir_.file("hello.txt")));  // its artifact
}

TEST_F(CliTest, RunTaskFileInTheReferenceClientsFormat) {
  // "@type", comments and trailing commas, as the reference client's README shows them.
  auto r = cli({"run", source_dir() + "/tests/integration/cli/fixtures/reference-task.json"});
  EXPECT_EQ(r.status, 3) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("argv[3]: reference\n"));
  EXPECT_THAT(r.out, HasSubstr("env[0]: GREETING=hi\n"));
  EXPECT_THAT(r.out, HasSubstr("stdin> from a reference task file\n"));
  // A job typed the same way, with the "wasimoff/" type-URL prefix.
  dir_.write("ref-job.json", R"({"@type": "wasimoff/wasimoff.v1.Task.Wasip1.JobRequest",
      "parent": {"binary": {"ref": "fib.wasm"}},
      "tasks": [{"args": ["fib", "iter", "10"]}, {"args": ["fib", "iter", "11"]},]})");
  auto job = cli({"run", "ref-job.json"});
  ASSERT_EQ(job.status, 0) << describe(job);
  EXPECT_EQ(job.out, "fib(10) = 55\nfib(11) = 89\n");
}

TEST_F(CliTest, RunTaskFileUploadsLocalRefs) {
  fs::create_directories(dir_.file("jobs/bin"));
  fs::copy_file(example("fib.wasm"), dir_.file("jobs/bin/f.wasm"));
  dir_.write("jobs/task.json",
             R"({"params":{"binary":{"ref":"@bin/f.wasm"},"args":["f.wasm","iter","20"]}})");
  auto r = cli({"run", "jobs/task.json"});
  ASSERT_EQ(r.status, 0) << describe(r);
  EXPECT_EQ(r.out, "fib(20) = 6765\n");
  auto from_stdin = cli(
      {"run", "-"}, R"({"params":{"binary":{"ref":"@jobs/bin/f.wasm"},"args":["f","iter","7"]}})");
  ASSERT_EQ(from_stdin.status, 0) << describe(from_stdin);
  EXPECT_EQ(from_stdin.out, "fib(7) = 13\n");
}

TEST_F(CliTest, RunJobFileOverConnectAndWebSocket) {
  std::string job = source_dir() + "/examples/jobs/hello-3.json";
  for (bool ws : {false, true}) {
    std::string out = ws ? "out-ws" : "out-connect";
    std::vector<std::string> args = {"run", job, "--out", out};
    if (ws) args.push_back("--ws");
    auto r = cli(args);
    // Task 1 exits with 3, so the job fails as a whole.
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("wasimoff: task 1 exited with status 3"));
    EXPECT_THAT(r.err, HasSubstr("job hello-3: 3 tasks, 2 succeeded, 1 failed"));
    EXPECT_THAT(read_file(dir_.file(out + "/0/stdout")), HasSubstr("argv[1]: first\n"));
    EXPECT_THAT(read_file(dir_.file(out + "/1/stdout")), HasSubstr("env[0]: MODE=other\n"));
    EXPECT_THAT(read_file(dir_.file(out + "/1/result.json")), HasSubstr("\"status\":3"));
    EXPECT_THAT(read_file(dir_.file(out + "/2/stdout")), HasSubstr("stdin> two\n"));
    EXPECT_TRUE(fs::exists(dir_.file(out + "/2/artifacts/hello.txt")));
    EXPECT_FALSE(fs::exists(dir_.file(out + "/0/artifacts")));
  }
}

TEST_F(CliTest, RunJobPrintsOutputsInTaskOrder) {
  std::string job = R"({"parent":{"binary":{"ref":"fib.wasm"}},"tasks":[)";
  std::string expected;
  const std::uint64_t fib[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
  for (int i = 0; i < 12; ++i) {
    job += std::string(i ? "," : "") + R"({"args":["fib","iter",")" + std::to_string(i) + R"("]})";
    expected += "fib(" + std::to_string(i) + ") = " + std::to_string(fib[i]) + "\n";
  }
  job += "]}";
  dir_.write("fib-12.json", job);
  for (bool ws : {false, true}) {
    std::vector<std::string> args = {"run", "fib-12.json"};
    if (ws) args.push_back("--ws");
    auto r = cli(args);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(r.out, expected);
    EXPECT_THAT(r.err, HasSubstr("job: 12 tasks, 12 succeeded, 0 failed"));
  }
}

// A thousand small tasks through the client WebSocket: many in flight, every result kept and in
// order. The timing is printed for the report, not asserted.
TEST_F(CliTest, RunThousandTaskJobOverWebSocket) {
  std::string job =
      R"({"info":{"reference":"fib-1000"},"parent":{"binary":{"ref":"fib.wasm"}},"tasks":[)";
  for (int i = 0; i < 1000; ++i)
    job += std::string(i ? "," : "") + R"({"args":["fib","iter",")" + std::to_string(i % 90) +
           R"("]})";
  job += "]}";
  dir_.write("fib-1000.json", job);
  for (std::string parallel : {"64", "1"}) {
    auto started = std::chrono::steady_clock::now();
    auto r = cli({"run", "--ws", "--parallel", parallel, "fib-1000.json"});
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("job fib-1000: 1000 tasks, 1000 succeeded, 0 failed"));
    EXPECT_THAT(r.err, HasSubstr("progress: 500/1000 tasks done"));  // plain lines, no terminal
    std::size_t lines = static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
    EXPECT_EQ(lines, 1000u);
    EXPECT_TRUE(r.out.starts_with("fib(0) = 0\nfib(1) = 1\nfib(2) = 1\n")) << r.out.substr(0, 100);
    std::printf("[ measure  ] 1000 tasks, run --ws --parallel %s: %.2f s\n", parallel.c_str(),
                secs);
  }
}

TEST_F(CliTest, RunRejectsBadTaskFiles) {
  dir_.write("broken.json", "{\"params\": ");
  dir_.write("typo.json", R"({"params":{"binary":{"ref":"hello.wasm"},"argz":["x"]}})");
  dir_.write("empty-job.json", R"({"parent":{"binary":{"ref":"hello.wasm"}},"tasks":[]})");
  dir_.write("neither.json", R"({"something":"else"})");
  dir_.write("missing-local.json", R"({"params":{"binary":{"ref":"@nowhere.wasm"}}})");
  struct Case {
    std::string file, message;
  };
  for (const auto& c : std::vector<Case>{
           {"broken.json", "broken.json: not JSON"},
           {"typo.json", "typo.json: not a valid task (Task.Wasip1.Request)"},
           {"empty-job.json", "empty-job.json: the job has no tasks"},
           {"neither.json", "neither a task (needs \"params\") nor a job"},
           {"missing-local.json", "cannot read nowhere.wasm"},
           {"does-not-exist.json", "cannot read task file does-not-exist.json"},
       }) {
    auto r = cli({"run", c.file});
    EXPECT_EQ(r.status, 125) << c.file << ": " << describe(r);
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.file;
  }
}

TEST_F(CliTest, RunJobWithAnUnknownBinaryFailsPerTask) {
  dir_.write("job.json", R"({"tasks":[{"binary":{"ref":"fib.wasm"},"args":["f","1"]},
                                       {"binary":{"ref":"missing.wasm"}}]})");
  for (bool ws : {false, true}) {
    std::vector<std::string> args = {"run", "job.json"};
    if (ws) args.push_back("--ws");
    auto r = cli(args);
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_EQ(r.out, "fib(1) = 1\n");
    EXPECT_THAT(r.err, HasSubstr("wasimoff: task 1: "));
    EXPECT_THAT(r.err, HasSubstr("file not found in storage: missing.wasm"));
  }
}

TEST(CliUsage, CommandLineErrorsExitTwo) {
  CliCall call;
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"bogus"},
                                             {"exec"},
                                             {"exec", "--bogus", "x.wasm"},
                                             {"run"},
                                             {"run", "--timeout", "soon", "x.json"},
                                             {"upload", "-n", "x", "a.wasm", "b.wasm"},
                                             {"-b", "ftp://example.org", "exec", "x.wasm"}}) {
    auto r = run_cli(args, call);
    EXPECT_EQ(r.status, 2) << ::testing::PrintToString(args) << describe(r);
    EXPECT_FALSE(r.err.empty());
  }
  auto help = run_cli({"exec", "--help"}, call);
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("--stdin"));
}

TEST(CliBrokerDown, EveryCommandSaysTheBrokerIsUnreachable) {
  TempDir dir;
  dir.write("task.json", R"({"params":{"binary":{"ref":"hello.wasm"}}})");
  std::string down = "http://127.0.0.1:" + std::to_string(free_tcp_port());
  CliCall call;
  call.broker = down;
  call.cwd = dir.path();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"exec", "hello.wasm"},
                                             {"exec", "--ws", "hello.wasm"},
                                             {"run", "task.json"},
                                             {"run", "--ws", "task.json"},
                                             {"upload", examples_dir() + "/hello.wasm"}}) {
    auto r = run_cli(args, call);
    EXPECT_EQ(r.status, 125) << ::testing::PrintToString(args) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("cannot reach the broker at " + down + ": Connection refused"));
    EXPECT_THAT(r.err, HasSubstr("hint: is the broker running there?"));
  }
}

TEST(CliTokens, TheClientTokenIsSentAndItsAbsenceExplained) {
  BrokerProcess broker(
      std::map<std::string, std::string>{{"WASIMOFF_CLIENT_TOKEN", "s3cret-token"}});
  CliCall call;
  call.broker = broker.url();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"exec", "nope.wasm"},
                                             {"exec", "--ws", "nope.wasm"},
                                             {"upload", examples_dir() + "/fib.wasm"}}) {
    auto r = run_cli(args, call);
    EXPECT_EQ(r.status, 125) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("the broker requires a client token")) << describe(r);
  }
  // With the token the requests get through (and fail for the next reason: the unknown name).
  auto with_flag = run_cli({"exec", "--token", "s3cret-token", "nope.wasm"}, call);
  EXPECT_THAT(with_flag.err, HasSubstr("not_found")) << describe(with_flag);
  call.env["WASIMOFF_CLIENT_TOKEN"] = "s3cret-token";
  auto with_env = run_cli({"exec", "--ws", "nope.wasm"}, call);
  EXPECT_THAT(with_env.err, HasSubstr("not_found")) << describe(with_env);
  auto upload = run_cli({"upload", examples_dir() + "/fib.wasm"}, call);
  EXPECT_EQ(upload.status, 0) << describe(upload);
}

// Without a provider tasks wait in the queue: --timeout ends the wait with the Broker's
// deadline_exceeded, and a job larger than the queue is refused up front.
TEST(CliNoProvider, TimeoutAndJobLargerThanTheQueue) {
  BrokerProcess broker(std::map<std::string, std::string>{{"WASIMOFF_QUEUE_SIZE", "2"}});
  TempDir dir;
  CliCall call;
  call.broker = broker.url();
  call.cwd = dir.path();
  ASSERT_EQ(run_cli({"upload", "-n", "fib.wasm", examples_dir() + "/fib.wasm"}, call).status, 0);
  for (bool ws : {false, true}) {
    std::vector<std::string> args = {"exec", "--timeout", "300ms", "fib.wasm", "1"};
    if (ws) args.insert(args.begin() + 1, "--ws");
    auto r = run_cli(args, call);
    EXPECT_EQ(r.status, 125) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("deadline_exceeded"));
    EXPECT_THAT(r.err, HasSubstr("hint: the task did not finish in time"));
  }
  dir.write("job.json", R"({"parent":{"binary":{"ref":"fib.wasm"}},"tasks":[{},{},{}]})");
  auto r = run_cli({"run", "job.json"}, call);
  EXPECT_EQ(r.status, 125) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("invalid_argument"));
}

}  // namespace
}  // namespace wasimoff::testing
