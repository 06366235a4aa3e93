// The wasimoff-run contract other tools rely on (differential tests): spec JSON in, exactly one
// JSON object out, exit code 0 whenever it was printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/strings.h"
#include "common/zip_archive.h"
#include "engine_harness.h"
#include "provider/engine/child_process.h"

namespace wasimoff::testing {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

struct ToolResult {
  int exit_code = -1;
  std::string output;   // stdout + stderr
  json::object result;  // parsed stdout when it was one JSON object
};

class RunTool : public ::testing::Test {
 protected:
  ToolResult run(const std::string& spec_json) {
    fs::path spec = dir_.path() / "spec.json";
    std::ofstream(spec) << spec_json;
    engine::SpawnOptions o;
    o.argv = {WASIMOFF_TEST_RUN_TOOL, "--cache", WASIMOFF_TEST_COMPILE_CACHE, spec.string()};
    asio::io_context ioc;
    ToolResult out;
    asio::co_spawn(ioc, engine::run_process(o, std::chrono::seconds(120), 1 << 20),
                   [&](std::exception_ptr e, engine::ProcessResult r) {
                     if (e) return;
                     out.exit_code = r.status.signaled ? -r.status.code : r.status.code;
                     out.output = r.output;
                   });
    ioc.run();
    // Logging is off unless -v, so the output is the JSON line alone.
    boost::system::error_code ec;
    json::value v = json::parse(out.output, ec);
    if (!ec && v.is_object()) out.result = v.as_object();
    return out;
  }
  std::string spec(const std::string& wasm, const std::string& extra = "") {
    return "{\"wasm\": \"" + fixture(wasm).string() + "\"" + extra + "}";
  }
  static std::string b64(const json::value& v) { return *base64_decode(v.as_string()); }

  TempDir dir_;
};

TEST_F(RunTool, ReferenceModule) {
  ToolResult r = run(spec("hello", R"(, "args": ["hello.wasm"], "env": [], "stdin": null,
      "rootfs": null, "artifacts": [], "timeout_ms": null, "memory_limit": null)"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(
      json::serialize(r.result),
      R"({"status":7,"stdout":"aGVsbG8gZnJvbSBXQVQK","stderr":"","error":null,"artifacts":null})");
}

TEST_F(RunTool, ReferenceModuleForWasiUnstable) {
  // The same module importing wasi_unstable (WASI preview 0) instead of wasi_snapshot_preview1.
  ToolResult r = run(spec("hello_unstable", R"(, "args": ["hello.wasm"])"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.result["status"], 7);
  EXPECT_EQ(b64(r.result["stdout"]), "hello from wasi_unstable\n");
  EXPECT_TRUE(r.result["error"].is_null());
}

TEST_F(RunTool, StdinRootfsAndArtifacts) {
  ZipWriter w;
  w.add_file("data/file.txt", "from the archive", 0);
  fs::path zip = dir_.path() / "rootfs.zip";
  std::ofstream(zip, std::ios::binary) << w.finish();
  ToolResult r = run(spec("open_path", R"(, "args": ["open_path.wasm", "data/file.txt"],
      "rootfs": ")" + zip.string() + R"(", "artifacts": ["data"])"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.result["status"].as_int64(), 0);
  EXPECT_EQ(b64(r.result["stdout"]), "from the archive");
  auto entries = read_zip(b64(r.result["artifacts"]));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "data/file.txt");

  ToolResult cat = run(spec("cat", R"(, "stdin": ")" + base64_encode("piped\n") + R"(")"));
  ASSERT_EQ(cat.exit_code, 0) << cat.output;
  EXPECT_EQ(b64(cat.result["stdout"]), "piped\n");
}

TEST_F(RunTool, ErrorsAreJsonWithNullStatus) {
  ToolResult trap =
      run(spec("trap_div0", R"(, "args": ["trap_div0.wasm"])"));  // divides by argc - 1
  ASSERT_EQ(trap.exit_code, 0) << trap.output;
  EXPECT_TRUE(trap.result["status"].is_null());
  EXPECT_EQ(trap.result["error"].as_string(), "trap: integer divide by zero");
  EXPECT_TRUE(trap.result["artifacts"].is_null());

  ToolResult timeout = run(spec("loop", R"(, "timeout_ms": 200)"));
  ASSERT_EQ(timeout.exit_code, 0) << timeout.output;
  EXPECT_EQ(timeout.result["error"].as_string(), "task timed out after 200ms");

  ToolResult memory = run(spec("big_initial", R"(, "memory_limit": 16777216)"));
  EXPECT_EQ(memory.result["error"].as_string(), "memory limit exceeded");

  ToolResult unsupported = run(spec("bad_signature"));
  EXPECT_THAT(std::string(unsupported.result["error"].as_string()),
              HasSubstr("unsupported module: "));

  ToolResult missing = run(R"({"wasm": "/nonexistent/module.wasm"})");
  ASSERT_EQ(missing.exit_code, 0);
  EXPECT_THAT(std::string(missing.result["error"].as_string()),
              HasSubstr("/nonexistent/module.wasm"));
}

TEST_F(RunTool, BadSpecsExitWithTwo) {
  EXPECT_EQ(run("not json").exit_code, 2);
  EXPECT_EQ(run(R"({"args": []})").exit_code, 2);
  EXPECT_EQ(run(spec("hello", R"(, "args": "not a list")")).exit_code, 2);
  EXPECT_EQ(run(spec("hello", R"(, "stdin": "***")")).exit_code, 2);
  ToolResult r = run(spec("hello", R"(, "timeout_ms": -5)"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("timeout_ms"));
}

}  // namespace
}  // namespace wasimoff::testing
