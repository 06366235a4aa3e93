// The example job files in examples/jobs/ are what users copy into curl commands, so they must be
// valid proto3 JSON of the message the README promises (docs/protocol.md §2.5): Task.Wasip1.Request
// for files with "params", Task.Wasip1.JobRequest otherwise. Parsing is strict (unknown fields
// fail), so a misspelt field such as "env" instead of "envs" cannot silently vanish.

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "wasimoff/v1/messages.pb.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = wasimoff::v1;
using google::protobuf::util::JsonParseOptions;
using google::protobuf::util::JsonStringToMessage;

const std::set<std::string> kExampleBinaries = {"hello.wasm", "fib.wasm", "tsp.wasm",
                                                "wasi-selftest.wasm"};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> job_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(WASIMOFF_EXAMPLE_JOBS_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

template <typename Message>
Message parse_strict(const fs::path& path) {
  Message msg;
  JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = JsonStringToMessage(read_file(path), &msg, options);
  EXPECT_TRUE(status.ok()) << path << " is not a valid " << Message::descriptor()->full_name()
                           << ": " << status.ToString();
  return msg;
}

// A task (after inheriting from the parent, docs/scheduling.md §9) must name one of the example
// binaries by alias and pass that alias as argv[0].
void check_task(const std::string& where, const v1::Task::Wasip1::Params& task,
                const v1::Task::Wasip1::Params* parent) {
  const auto& binary = task.has_binary() || parent == nullptr ? task.binary() : parent->binary();
  const auto& args = task.args_size() > 0 || parent == nullptr ? task.args() : parent->args();
  EXPECT_TRUE(kExampleBinaries.count(binary.ref()))
      << where << ": binary ref '" << binary.ref() << "' is not an example alias";
  EXPECT_FALSE(binary.has_blob()) << where << ": example tasks reference binaries by alias";
  ASSERT_GT(args.size(), 0) << where << ": no argv";
  EXPECT_EQ(args.Get(0), binary.ref()) << where << ": argv[0] should be the binary's alias";
}

TEST(ExampleJobs, EveryFileParsesStrictlyAndNamesExampleBinaries) {
  auto files = job_files();
  ASSERT_GE(files.size(), 3u) << "expected the example job files in " << WASIMOFF_EXAMPLE_JOBS_DIR;
  for (const auto& path : files) {
    std::string text = read_file(path);
    if (text.find("\"params\"") != std::string::npos) {
      auto request = parse_strict<v1::Task::Wasip1::Request>(path);
      ASSERT_TRUE(request.has_params()) << path;
      check_task(path.filename().string(), request.params(), nullptr);
    } else {
      auto job = parse_strict<v1::Task::Wasip1::JobRequest>(path);
      ASSERT_GT(job.tasks_size(), 0) << path << ": a job needs tasks";
      for (int i = 0; i < job.tasks_size(); i++) {
        check_task(path.filename().string() + " task " + std::to_string(i), job.tasks(i),
                   job.has_parent() ? &job.parent() : nullptr);
      }
    }
  }
}

TEST(ExampleJobs, Tsp200HasTwoHundredDistinctTasks) {
  auto job = parse_strict<v1::Task::Wasip1::JobRequest>(fs::path(WASIMOFF_EXAMPLE_JOBS_DIR) /
                                                        "tsp-200.json");
  ASSERT_EQ(job.tasks_size(), 200);
  std::set<std::string> seeds;
  for (const auto& task : job.tasks()) {
    ASSERT_EQ(task.args_size(), 4);
    EXPECT_EQ(task.args(1), "rand");
    EXPECT_EQ(task.args(2), "8");
    seeds.insert(task.args(3));
  }
  EXPECT_EQ(seeds.size(), 200u) << "every task should use its own seed";
}

TEST(ExampleJobs, HelloTaskCarriesStdinEnvAndArtifact) {
  auto request = parse_strict<v1::Task::Wasip1::Request>(fs::path(WASIMOFF_EXAMPLE_JOBS_DIR) /
                                                         "hello-task.json");
  EXPECT_EQ(request.params().stdin(), "some input\n");  // base64 decoded by the JSON mapping
  ASSERT_EQ(request.params().envs_size(), 1);
  ASSERT_EQ(request.params().artifacts_size(), 1);
  EXPECT_EQ(request.params().artifacts(0), "hello.txt");
}

}  // namespace
