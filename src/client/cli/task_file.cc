#include "client/cli/task_file.h"

#include <google/protobuf/util/json_util.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "client/client_error.h"
#include "common/strings.h"

namespace wasimoff::cli {

namespace fs = std::filesystem;
using client::local_error;

namespace {

void parse_strict(std::string_view json, google::protobuf::Message* out, const std::string& name,
                  std::string_view what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (!status.ok())
    throw local_error(name + ": not a valid " + std::string(what) + ": " +
                      std::string(status.message()));
}

}  // namespace

namespace {

// The message types a reference (wasimoff v1) task file may name in "@type". The file is a
// google.protobuf.Any in proto3 JSON: the type URL's prefix (anything up to the last '/', e.g.
// "type.googleapis.com/" or "wasimoff/") is not significant.
constexpr std::string_view kTaskType = "wasimoff.v1.Task.Wasip1.Request";
constexpr std::string_view kJobType = "wasimoff.v1.Task.Wasip1.JobRequest";
constexpr std::string_view kPyodideType = "wasimoff.v1.Task.Pyodide.Request";

// Removes "@type" from `obj` and returns the kind it names; throws for other types.
TaskFile::Kind take_type(boost::json::object& obj, const std::string& name) {
  const auto* type = obj.if_contains("@type");
  if (!type->is_string()) throw local_error(name + ": \"@type\" must be a string");
  std::string_view url = type->get_string();
  std::string_view full_name = url.substr(url.rfind('/') + 1);  // npos + 1 == 0
  TaskFile::Kind kind;
  if (full_name == kTaskType) {
    kind = TaskFile::Kind::kTask;
  } else if (full_name == kJobType) {
    kind = TaskFile::Kind::kJob;
  } else if (full_name == kPyodideType) {
    throw local_error(name +
                      ": a Pyodide task (wasimoff.v1.Task.Pyodide.Request); this client runs "
                      "WebAssembly tasks and jobs only — send it to the Broker's RunPyodide "
                      "procedure (docs/http-api.md)");
  } else {
    throw local_error(name + ": unknown \"@type\" " + escape_untrusted(url, 120) + " (expected " +
                      std::string(kTaskType) + " or " + std::string(kJobType) + ")");
  }
  obj.erase("@type");
  return kind;
}

}  // namespace

TaskFile parse_task_file(std::string_view json, std::string name, std::string base_dir) {
  // Task files are written by hand: comments and trailing commas are accepted (the reference
  // client's documented example has comments), then the plain JSON goes to the strict parser.
  boost::json::parse_options relaxed;
  relaxed.allow_comments = true;
  relaxed.allow_trailing_commas = true;
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec, {}, relaxed);
  if (ec) throw local_error(name + ": not JSON: " + ec.message());
  if (!value.is_object())
    throw local_error(name +
                      ": expected a JSON object (a task with \"params\" or a job with "
                      "\"tasks\")");
  auto& obj = value.get_object();
  TaskFile out;
  out.name = std::move(name);
  out.base_dir = std::move(base_dir);
  if (obj.contains("@type")) {
    out.kind = take_type(obj, out.name);
  } else if (obj.contains("tasks") || obj.contains("parent")) {
    out.kind = TaskFile::Kind::kJob;
  } else if (obj.contains("params")) {
    out.kind = TaskFile::Kind::kTask;
  } else {
    throw local_error(out.name + ": neither a task (needs \"params\") nor a job (needs \"tasks\")");
  }
  std::string plain = boost::json::serialize(value);
  if (out.kind == TaskFile::Kind::kJob) {
    parse_strict(plain, &out.job, out.name, "job (Task.Wasip1.JobRequest)");
    if (out.job.tasks_size() == 0) throw local_error(out.name + ": the job has no tasks");
  } else {
    parse_strict(plain, &out.task, out.name, "task (Task.Wasip1.Request)");
  }
  return out;
}

TaskFile load_task_file(const std::string& path) {
  std::string text;
  std::string base_dir;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    base_dir = ".";
  } else {
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw local_error(path + " is a directory, not a task file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw local_error("cannot read task file " + path + ": " + std::strerror(errno));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    base_dir = fs::path(path).parent_path().string();
    if (base_dir.empty()) base_dir = ".";
  }
  return parse_task_file(text, path, base_dir);
}

void for_each_file(TaskFile& file,
                   const std::function<void(v1::File&, std::string_view, const std::string&)>& fn) {
  auto visit = [&](v1::Task::Wasip1::Params& p, const std::string& prefix) {
    if (p.has_binary()) fn(*p.mutable_binary(), "binary", prefix + "binary");
    if (p.has_rootfs()) fn(*p.mutable_rootfs(), "rootfs", prefix + "rootfs");
  };
  if (file.kind == TaskFile::Kind::kTask) {
    if (file.task.has_params()) visit(*file.task.mutable_params(), "params.");
    return;
  }
  if (file.job.has_parent()) visit(*file.job.mutable_parent(), "parent.");
  for (int i = 0; i < file.job.tasks_size(); ++i)
    visit(*file.job.mutable_tasks(i), "tasks[" + std::to_string(i) + "].");
}

std::string local_path_of(const v1::File& file, const std::string& base_dir) {
  const std::string& ref = file.ref();
  if (ref.size() < 2 || ref[0] != '@') return "";
  fs::path p(ref.substr(1));
  if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace wasimoff::cli
