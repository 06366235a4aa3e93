// The CLI's pieces without a Broker: task files, result directories and artifact unpacking,
// progress output, trace formatting, argument classification and exit statuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "client/cli/commands.h"
#include "client/cli/exit_codes.h"
#include "client/cli/progress.h"
#include "client/cli/result_files.h"
#include "client/cli/task_file.h"
#include "client/cli/trace_format.h"
#include "client/client_error.h"
#include "common/zip_archive.h"

namespace wasimoff::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Response = v1::Task::Wasip1::Response;

// A scratch directory removed at the end of the test.
class Scratch {
 public:
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "wasimoff-cli-unit-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories(fs::path(*this / name).parent_path());
    std::ofstream(*this / name, std::ios::binary) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(*this / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  std::string path_;
};

std::string local_error_text(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const client::ClientError& e) {
    EXPECT_EQ(e.kind(), client::ClientError::Kind::kLocal);
    return e.what();
  }
  return "(no error)";
}

TEST(TaskFile, TellsTasksFromJobs) {
  auto task =
      parse_task_file(R"({"params":{"binary":{"ref":"a.wasm"},"args":["a"]}})", "t.json", ".");
  EXPECT_EQ(task.kind, TaskFile::Kind::kTask);
  EXPECT_EQ(task.task.params().binary().ref(), "a.wasm");
  EXPECT_EQ(task.task_count(), 1u);
  auto job = parse_task_file(
      R"({"parent":{"binary":{"ref":"a.wasm"}},"tasks":[{},{"args":["x"]}]})", "j.json", ".");
  EXPECT_EQ(job.kind, TaskFile::Kind::kJob);
  EXPECT_EQ(job.task_count(), 2u);
  // proto field names and JSON names are both fine; stdin is base64.
  auto b64 = parse_task_file(R"({"params":{"stdin":"aGkK"}})", "s.json", ".");
  EXPECT_EQ(b64.task.params().stdin(), "hi\n");
}

TEST(TaskFile, RejectsWhatIsNotATaskWithTheFileName) {
  EXPECT_THAT(local_error_text([] { parse_task_file("[1]", "a.json", "."); }),
              HasSubstr("a.json: expected a JSON object"));
  EXPECT_THAT(local_error_text([] { parse_task_file("{", "b.json", "."); }),
              HasSubstr("b.json: not JSON"));
  EXPECT_THAT(local_error_text([] { parse_task_file(R"({"params":{"argz":[]}})", "c.json", "."); }),
              HasSubstr("c.json: not a valid task (Task.Wasip1.Request)"));
  EXPECT_THAT(local_error_text([] { parse_task_file(R"({"tasks":[]})", "d.json", "."); }),
              HasSubstr("d.json: the job has no tasks"));
  EXPECT_THAT(
      local_error_text([] { parse_task_file(R"({"tasks":[{"stdin":"%%%"}]})", "e.json", "."); }),
      HasSubstr("e.json: not a valid job"));
  EXPECT_THAT(local_error_text([] { parse_task_file("{}", "f.json", "."); }),
              HasSubstr("f.json: neither a task"));
}

TEST(TaskFile, ReadsTheReferenceClientsAnyFormat) {
  // The reference client's task file: a google.protobuf.Any in proto3 JSON, with comments.
  auto bare = parse_task_file(R"({
      // a comment, as in the reference client's README
      "@type": "wasimoff.v1.Task.Wasip1.Request",
      "params": { "binary": { "ref": "hello.wasm" }, /* inline */ "args": ["hello.wasm", "x"], },
    })",
                              "ref.json", ".");
  EXPECT_EQ(bare.kind, TaskFile::Kind::kTask);
  EXPECT_EQ(bare.task.params().binary().ref(), "hello.wasm");
  EXPECT_EQ(bare.task.params().args_size(), 2);
  // Any type-URL prefix: "wasimoff/", "type.googleapis.com/".
  for (std::string prefix : {"wasimoff/", "type.googleapis.com/"}) {
    auto t = parse_task_file(
        R"({"@type":")" + prefix + R"(wasimoff.v1.Task.Wasip1.Request","params":{"stdin":"aGkK"}})",
        "p.json", ".");
    EXPECT_EQ(t.kind, TaskFile::Kind::kTask) << prefix;
    EXPECT_EQ(t.task.params().stdin(), "hi\n") << prefix;
  }
  // A job by type, even without "tasks" being the first hint.
  auto job = parse_task_file(
      R"({"@type":"wasimoff/wasimoff.v1.Task.Wasip1.JobRequest","tasks":[{"args":["a"]}]})",
      "j.json", ".");
  EXPECT_EQ(job.kind, TaskFile::Kind::kJob);
  EXPECT_EQ(job.task_count(), 1u);
  // "@type" decides: a task type with job fields is a schema error, not silently a job.
  EXPECT_THAT(local_error_text([] {
                parse_task_file(R"({"@type":"wasimoff.v1.Task.Wasip1.Request","tasks":[{}]})",
                                "mixed.json", ".");
              }),
              HasSubstr("mixed.json: not a valid task (Task.Wasip1.Request)"));
}

TEST(TaskFile, ExplainsTypesItCannotRun) {
  EXPECT_THAT(local_error_text([] {
                parse_task_file(R"({"@type":"wasimoff.v1.Task.Pyodide.Request","params":{}})",
                                "py.json", ".");
              }),
              HasSubstr("py.json: a Pyodide task"));
  EXPECT_THAT(local_error_text(
                  [] { parse_task_file(R"({"@type":"google.protobuf.Empty"})", "e.json", "."); }),
              AllOf(HasSubstr("e.json: unknown \"@type\" google.protobuf.Empty"),
                    HasSubstr("wasimoff.v1.Task.Wasip1.Request")));
  EXPECT_THAT(local_error_text([] { parse_task_file(R"({"@type":7})", "n.json", "."); }),
              HasSubstr("n.json: \"@type\" must be a string"));
  // Control characters in the type name do not reach the terminal raw.
  auto text =
      local_error_text([] { parse_task_file("{\"@type\":\"evil\\u001b[2J\"}", "c.json", "."); });
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
}

TEST(TaskFile, LocalRefsResolveAgainstTheFilesDirectory) {
  Scratch dir;
  dir.write("jobs/job.json",
            R"({"parent":{"binary":{"ref":"@bin/p.wasm"},"rootfs":{"ref":"root.zip"}},
                "tasks":[{"rootfs":{"ref":"@/abs/r.zip"}},{}]})");
  auto file = load_task_file(dir / "jobs/job.json");
  EXPECT_EQ(file.base_dir, dir / "jobs");
  std::vector<std::string> seen;
  for_each_file(file, [&](v1::File& f, std::string_view role, const std::string& where) {
    seen.push_back(std::string(role) + " " + where + " " + local_path_of(f, file.base_dir));
  });
  EXPECT_THAT(seen, ElementsAre("binary parent.binary " + (dir / "jobs/bin/p.wasm"),
                                "rootfs parent.rootfs ", "rootfs tasks[0].rootfs /abs/r.zip"));
  EXPECT_THAT(local_error_text([&] { load_task_file(dir / "jobs"); }), HasSubstr("is a directory"));
}

Response make_response() {
  Response r;
  r.mutable_info()->set_id("17");
  r.mutable_info()->set_provider("p1");
  r.mutable_ok()->set_status(3);
  r.mutable_ok()->set_stdout("out bytes");
  r.mutable_ok()->set_stderr("err bytes");
  ZipWriter zip;
  zip.add_directory("d", 0);
  zip.add_file("d/x.txt", "x content", 0);
  zip.add_file("top.txt", "top", 0);
  r.mutable_ok()->mutable_artifacts()->set_media("application/zip");
  r.mutable_ok()->mutable_artifacts()->set_blob(zip.finish());
  return r;
}

TEST(ResultFiles, WritesTheDocumentedLayout) {
  Scratch dir;
  write_result_dir(dir / "out/0", make_response());
  EXPECT_EQ(dir.read("out/0/stdout"), "out bytes");
  EXPECT_EQ(dir.read("out/0/stderr"), "err bytes");
  EXPECT_EQ(dir.read("out/0/artifacts/d/x.txt"), "x content");
  EXPECT_EQ(dir.read("out/0/artifacts/top.txt"), "top");
  std::string json = dir.read("out/0/result.json");
  EXPECT_THAT(json, HasSubstr(R"("status":3)"));
  EXPECT_THAT(json, HasSubstr(R"("id":"17")"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("stdout")));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("blob")));

  Response failed;
  failed.set_error("trap: unreachable executed");
  write_result_dir(dir / "out/1", failed);
  EXPECT_EQ(dir.read("out/1/stdout"), "");
  EXPECT_THAT(dir.read("out/1/result.json"), HasSubstr(R"("error":"trap: unreachable executed")"));
  EXPECT_FALSE(fs::exists(dir / "out/1/artifacts"));
}

TEST(ResultFiles, UnpackingNeverFollowsSymlinksOutOfTheDirectory) {
  Scratch dir;
  fs::create_directories(dir / "outside");
  fs::create_directories(dir / "dest");
  fs::create_directory_symlink(dir / "outside", dir / "dest/d");
  std::string blob = make_response().ok().artifacts().blob();
  EXPECT_THAT(local_error_text([&] { extract_artifacts(blob, dir / "dest"); }),
              HasSubstr("symbolic link"));
  EXPECT_TRUE(fs::is_empty(dir / "outside"));
  // A symlink where a file goes is not followed either.
  fs::remove(dir / "dest/d");
  fs::create_symlink(dir / "outside/victim", dir / "dest/top.txt");
  EXPECT_THAT(local_error_text([&] { extract_artifacts(blob, dir / "dest"); }),
              HasSubstr("cannot write"));
  EXPECT_FALSE(fs::exists(dir / "outside/victim"));
}

TEST(ResultFiles, UnpackingOverwritesFilesAndRejectsBrokenArchives) {
  Scratch dir;
  dir.write("dest/top.txt", "old content that is longer");
  EXPECT_EQ(extract_artifacts(make_response().ok().artifacts().blob(), dir / "dest"), 2u);
  EXPECT_EQ(dir.read("dest/top.txt"), "top");
  EXPECT_THAT(local_error_text([&] { extract_artifacts("PK\x03\x04garbage", dir / "dest"); }),
              HasSubstr("not a valid archive"));
}

TEST(Progress, BarShowsCountsRateAndEta) {
  std::string bar = Progress::render_bar(50, 2, 100, 10.0, 80);
  EXPECT_LE(bar.size(), 80u);  // fits the line
  auto cells = bar.substr(1, bar.find(']') - 1);
  EXPECT_EQ(std::count(cells.begin(), cells.end(), '#'),
            std::count(cells.begin(), cells.end(), '.'));
  EXPECT_EQ(cells.substr(0, 2), "##");
  EXPECT_THAT(bar, HasSubstr("50/100"));
  EXPECT_THAT(bar, HasSubstr("2 failed"));
  EXPECT_THAT(bar, HasSubstr("5.0 tasks/s"));
  EXPECT_THAT(bar, HasSubstr("ETA 10.0s"));
  EXPECT_LE(Progress::render_bar(1, 0, 3, 1, 40).size(), 40u + 10);  // bar shrinks to 10 cells
  std::string waiting = Progress::render_bar(0, 0, 7, 2.5, 80);
  EXPECT_THAT(waiting, HasSubstr("0/7  2.5s"));
  EXPECT_EQ(Progress::render_line(100, 0, 1000, 4.0),
            "progress: 100/1000 tasks done, 0 failed, 4.0s elapsed, ETA 36.0s");
  EXPECT_EQ(Progress::render_line(3, 1, 3, 0.5),
            "progress: 3/3 tasks done, 1 failed, 500ms elapsed");
  EXPECT_EQ(Progress::format_seconds(125), "2m05s");
  EXPECT_EQ(Progress::format_seconds(3720), "1h02m");
}

std::string captured(Progress::Mode mode, std::size_t total, std::size_t finish) {
  std::FILE* f = std::tmpfile();
  {
    Progress p(total, mode, f);
    for (std::size_t i = 0; i < finish; ++i) p.task_finished(i % 7 == 0);
    p.finish();
  }
  std::rewind(f);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

TEST(Progress, PlainLinesEveryTenthOfTheJobAndNothingWhenQuiet) {
  std::string lines = captured(Progress::Mode::kLines, 40, 40);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 10);
  EXPECT_THAT(lines, HasSubstr("progress: 4/40 tasks done, 1 failed"));
  EXPECT_THAT(lines, HasSubstr("progress: 40/40 tasks done, 6 failed"));
  EXPECT_EQ(captured(Progress::Mode::kLines, 5, 5), "");  // small jobs: the summary is enough
  EXPECT_EQ(captured(Progress::Mode::kQuiet, 40, 40), "");
  std::string bar = captured(Progress::Mode::kBar, 40, 40);
  EXPECT_THAT(bar, HasSubstr("\r\033[K["));
  EXPECT_EQ(bar.substr(bar.size() - 4), "\r\033[K");  // finish() removes the bar
}

TEST(TraceFormat, TimelineRelativeToCreation) {
  v1::Task::Metadata info;
  EXPECT_EQ(format_trace(info, "task 1"), "");
  info.set_provider("p1");
  auto* trace = info.mutable_trace();
  trace->set_created(1'000'000'000);
  auto add = [&](std::int64_t at, int event, const char* details) {
    auto* e = trace->add_events();
    e->set_unixnano(at);
    e->set_event(static_cast<v1::Task::TraceEvent::EventType>(event));
    if (*details) e->set_details(details);
  };
  add(1'000'500'000, 11, "");
  add(1'002'000'000, 23, "attempt 1");
  add(1'002'250'000, 99, "");
  std::string text = format_trace(info, "task 1");
  EXPECT_THAT(text, HasSubstr("trace of task 1 (provider p1):\n"));
  EXPECT_THAT(text, HasSubstr("0.500 ms"));
  EXPECT_THAT(text, HasSubstr("ClientTransmitRequest\n"));
  EXPECT_THAT(text, HasSubstr("2.000 ms      +1.500 ms  BrokerScheduleTask  attempt 1\n"));
  EXPECT_THAT(text, HasSubstr("+0.250 ms  event 99\n"));
  EXPECT_LT(text.find("ClientTransmitRequest"), text.find("BrokerScheduleTask"));
}

TEST(TraceFormat, ClientEventsAreAddedOnlyWhenTracing) {
  v1::Task::Metadata info;
  add_trace_event(&info, v1::Task::TraceEvent::ClientTransmitRequest);
  EXPECT_FALSE(info.has_trace());
  request_trace(&info);
  EXPECT_GT(info.trace().created(), 0);
  add_trace_event(&info, v1::Task::TraceEvent::ClientReceivedResponse, "x");
  ASSERT_EQ(info.trace().events_size(), 1);
  EXPECT_EQ(info.trace().events(0).event(), v1::Task::TraceEvent::ClientReceivedResponse);
  EXPECT_GE(info.trace().events(0).unixnano(), info.trace().created());
}

TEST(ExitStatus, TaskStatusesOutsideTheByteRangeNeverLookLikeSuccess) {
  EXPECT_EQ(exit_status_for(0), 0);
  EXPECT_EQ(exit_status_for(3), 3);
  EXPECT_EQ(exit_status_for(255), 255);
  EXPECT_EQ(exit_status_for(256), 255);
  EXPECT_EQ(exit_status_for(-1), 255);
}

TEST(FileArgument, LocalFilesRefsAndNames) {
  Scratch dir;
  dir.write("prog.wasm", std::string("\0asm", 4));
  auto local = classify_file_argument(dir / "prog.wasm");
  EXPECT_EQ(local.local, dir / "prog.wasm");
  EXPECT_EQ(local.display, "prog.wasm");
  auto forced = classify_file_argument("@not-there.wasm");
  EXPECT_EQ(forced.local, "not-there.wasm");
  auto alias = classify_file_argument("hello.wasm");
  EXPECT_EQ(alias.local, "");
  EXPECT_EQ(alias.ref, "hello.wasm");
  EXPECT_EQ(alias.display, "hello.wasm");
  EXPECT_THAT(local_error_text([] { classify_file_argument("./missing/x.wasm"); }),
              HasSubstr("no such file: ./missing/x.wasm"));
}

TEST(EnvironmentEntry, KeyAlonePassesOurValue) {
  ::setenv("WASIMOFF_CLI_UNIT_VAR", "value 1", 1);
  EXPECT_EQ(environment_entry("A=b=c"), "A=b=c");
  EXPECT_EQ(environment_entry("WASIMOFF_CLI_UNIT_VAR"), "WASIMOFF_CLI_UNIT_VAR=value 1");
  ::unsetenv("WASIMOFF_CLI_UNIT_VAR");
  EXPECT_EQ(environment_entry("WASIMOFF_CLI_UNIT_VAR"), std::nullopt);
}

}  // namespace
}  // namespace wasimoff::cli
