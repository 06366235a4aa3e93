// Runs every command example of the documentation (docs/*.md and README.md) against a real
// Broker and native provider, so the documents cannot drift from the code. Conventions:
// docs/README.md, "How the examples are tested"; block extraction and output matching:
// doc_blocks.h.
//
// Each document runs in its own scratch directory laid out like a built checkout
// (build/release/examples/*.wasm, examples/jobs/*.json, proto/), with the executables on PATH,
// WASIMOFF_BROKER pointing at the test Broker and `localhost:4080` / `localhost:4443` in the
// examples replaced by the test Broker's addresses (`localhost:4081` / `localhost:4444`, used by
// examples that start a second Broker, by free ports). The Broker holds the example modules under
// the names `make run` gives them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli_harness.h"
#include "doc_blocks.h"

namespace wasimoff::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> documents() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(source_dir() + "/docs"))
    if (e.path().extension() == ".md") out.push_back("docs/" + e.path().filename().string());
  std::sort(out.begin(), out.end());
  out.push_back("README.md");
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

// The scratch directory of one document: a checkout's layout with the built examples.
void prepare_checkout(const std::string& dir) {
  fs::create_directories(dir + "/build/release/examples");
  for (const auto& e : fs::directory_iterator(examples_dir()))
    if (e.path().extension() == ".wasm")
      fs::copy_file(e.path(), dir + "/build/release/examples/" + e.path().filename().string());
  fs::create_directories(dir + "/examples/jobs");
  fs::copy(source_dir() + "/examples/jobs", dir + "/examples/jobs", fs::copy_options::recursive);
  fs::create_directories(dir + "/proto");
  fs::copy(source_dir() + "/proto", dir + "/proto", fs::copy_options::recursive);
}

class DocsExamples : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster();
    for (std::string name : {"hello", "fib", "tsp", "wasi-selftest"}) {
      CliCall call;
      call.broker = cluster_->url();
      auto r = run_cli({"upload", "--name", name + ".wasm", examples_dir() + "/" + name + ".wasm"},
                       call);
      ASSERT_EQ(r.status, 0) << describe(r);
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // The documents' addresses → the test's: the Broker of `make run` (4080 TCP, 4443 UDP) and a
  // second Broker some examples start (4081, 4444), which gets free ports of its own so that
  // concurrent test runs do not collide.
  std::string substitute(const std::string& text) const {
    std::string out = text;
    out = replace_all(out, "localhost:4080",
                      "127.0.0.1:" + std::to_string(cluster_->broker().port()));
    out = replace_all(out, "localhost:4443",
                      "127.0.0.1:" + std::to_string(cluster_->broker().quic_port()));
    out = replace_all(out, "localhost:4081", "127.0.0.1:" + std::to_string(second_http_));
    out = replace_all(out, "localhost:4444", "127.0.0.1:" + std::to_string(second_quic_));
    return out;
  }

  static Cluster* cluster_;
  std::uint16_t second_http_ = free_tcp_port();
  std::uint16_t second_quic_ = free_udp_port();
};

Cluster* DocsExamples::cluster_ = nullptr;

TEST_P(DocsExamples, CommandsRunAndPrintWhatTheDocumentShows) {
  const std::string& doc = GetParam();
  auto blocks = extract_sh_blocks(read_file(source_dir() + "/" + doc), doc);
  TempDir scratch;
  prepare_checkout(scratch.path());
  std::string path = fs::path(client_binary()).parent_path().string() + ":" +
                     fs::path(broker_binary()).parent_path().string() + ":" +
                     fs::path(provider_binary()).parent_path().string() + ":" +
                     std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  int ran = 0, skipped = 0;
  for (const auto& block : blocks) {
    if (!block.run) {
      ++skipped;
      continue;
    }
    ++ran;
    ChildProcess::Options o;
    o.argv = {"/bin/bash", "-e", "-o", "pipefail", "-c", substitute(block.script)};
    o.env = {{"PATH", path}, {"WASIMOFF_BROKER", cluster_->url()}};
    o.cwd = scratch.path();
    ChildProcess shell(o);
    auto status = shell.wait(std::chrono::seconds(120));
    std::string where = doc + ":" + std::to_string(block.line);
    std::string context = "\n--- script ---\n" + block.script + "--- stdout ---\n" +
                          shell.stdout_text() + "--- stderr ---\n" + shell.stderr_text();
    if (!status) {
      ADD_FAILURE() << where << ": did not finish within 120 s" << context;
      continue;
    }
    if (*status != 0) {
      ADD_FAILURE() << where << ": exit status " << *status << context;
      continue;
    }
    if (!block.expected.empty()) {
      std::vector<std::string> expected;
      for (const auto& e : block.expected) expected.push_back(substitute(e));
      if (auto diff = match_output(expected, shell.stdout_text()))
        ADD_FAILURE() << where << ": " << *diff << context;
    }
  }
  std::printf("[ docs     ] %s: %d examples ran, %d marked norun\n", doc.c_str(), ran, skipped);
}

TEST_P(DocsExamples, RelativeLinksPointAtExistingFiles) {
  const std::string& doc = GetParam();
  fs::path base = fs::path(source_dir() + "/" + doc).parent_path();
  for (const auto& link : relative_links(read_file(source_dir() + "/" + doc))) {
    if (link.empty()) continue;
    EXPECT_TRUE(fs::exists(base / link)) << doc << " links to " << link << ", which does not exist";
  }
}

INSTANTIATE_TEST_SUITE_P(Documents, DocsExamples, ::testing::ValuesIn(documents()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// The conventions themselves.
TEST(DocBlocks, ShBlocksWithExpectedOutputAndNorun) {
  std::string md =
      "Text\n"
      "```sh\n"
      "echo one\n"
      "# a comment that is not at the end\n"
      "echo two\n"
      "# one\n"
      "#\n"
      "# two\n"
      "```\n"
      "```json\n{\"not\": \"run\"}\n```\n"
      "1. In a list:\n"
      "   ```sh norun\n"
      "   rm -rf /\n"
      "   ```\n";
  auto blocks = extract_sh_blocks(md, "x.md");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].line, 2);
  EXPECT_TRUE(blocks[0].run);
  EXPECT_EQ(blocks[0].script, "echo one\n# a comment that is not at the end\necho two\n");
  EXPECT_THAT(blocks[0].expected, ::testing::ElementsAre("one", "", "two"));
  EXPECT_FALSE(blocks[1].run);
  EXPECT_EQ(blocks[1].script, "rm -rf /\n");
  EXPECT_TRUE(blocks[1].expected.empty());
}

TEST(DocBlocks, OutputMatchingWithWildcards) {
  EXPECT_EQ(match_output({"a", "b"}, "a\nb\n"), std::nullopt);
  EXPECT_EQ(match_output({"id ...", "..."}, "id 17 done\nmore\nlines\n"), std::nullopt);
  EXPECT_EQ(match_output({"...", "last"}, "last\n"), std::nullopt);
  EXPECT_EQ(match_output({"x...z"}, "xyz\n"), std::nullopt);
  EXPECT_NE(match_output({"a"}, "a\nb\n"), std::nullopt);
  EXPECT_NE(match_output({"a", "b"}, "a\n"), std::nullopt);
  EXPECT_NE(match_output({"x...z"}, "xy\n"), std::nullopt);
  EXPECT_THAT(match_output({"a", "c"}, "a\nb\n").value_or(""), ::testing::HasSubstr("got line: b"));
}

TEST(DocBlocks, RelativeLinks) {
  EXPECT_THAT(relative_links("[a](cli.md#x) [b](https://e.org) [c](#top) [d](../README.md)"),
              ::testing::ElementsAre("cli.md", "../README.md"));
}

}  // namespace
}  // namespace wasimoff::testing
