#include "client/cli/task_file.h"

#include <google/protobuf/util/json_util.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "client/client_error.h"

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

TaskFile parse_task_file(std::string_view json, std::string name, std::string base_dir) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec) throw local_error(name + ": not JSON: " + ec.message());
  if (!value.is_object())
    throw local_error(name +
                      ": expected a JSON object (a task with \"params\" or a job with "
                      "\"tasks\")");
  const auto& obj = value.get_object();
  TaskFile out;
  out.name = std::move(name);
  out.base_dir = std::move(base_dir);
  if (obj.contains("tasks") || obj.contains("parent")) {
    out.kind = TaskFile::Kind::kJob;
    parse_strict(json, &out.job, out.name, "job (Task.Wasip1.JobRequest)");
    if (out.job.tasks_size() == 0) throw local_error(out.name + ": the job has no tasks");
  } else if (obj.contains("params")) {
    out.kind = TaskFile::Kind::kTask;
    parse_strict(json, &out.task, out.name, "task (Task.Wasip1.Request)");
  } else {
    throw local_error(out.name + ": neither a task (needs \"params\") nor a job (needs \"tasks\")");
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
