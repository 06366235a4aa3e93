// Task files for `wasimoff run`: the proto3 JSON of a Task.Wasip1.Request (a single task, with
// "params") or of a Task.Wasip1.JobRequest (a job, with "tasks" and optionally "parent"),
// docs/protocol.md §2.5 — the same bodies the Connect API takes.
//
// The reference client's task files are read too: a google.protobuf.Any in proto3 JSON whose
// "@type" names wasimoff.v1.Task.Wasip1.Request (or .JobRequest), with any type-URL prefix.
// Comments (// and /* */) and trailing commas are accepted; beyond that, parsing is strict
// (unknown fields are errors, so a typo does not silently drop a setting).
// File refs (binary, rootfs) may name local files with a leading '@': "@hello.wasm",
// "@../build/app.wasm"; relative paths are relative to the task file's directory (the current
// directory for a task file read from stdin). The CLI uploads those and replaces the ref.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::cli {

struct TaskFile {
  enum class Kind { kTask, kJob };
  Kind kind = Kind::kTask;
  std::string name;                  // file name for messages ("-" = stdin)
  std::string base_dir;              // directory that relative '@' paths are resolved against
  v1::Task::Wasip1::Request task;    // kind == kTask
  v1::Task::Wasip1::JobRequest job;  // kind == kJob

  std::size_t task_count() const { return kind == Kind::kJob ? job.tasks_size() : 1; }
};

// Parses `json`. Throws client::ClientError(kLocal) naming `name` when the text is not JSON, is
// neither a task nor a job, or does not match the schema.
TaskFile parse_task_file(std::string_view json, std::string name, std::string base_dir);

// Reads and parses `path` ("-" = standard input).
TaskFile load_task_file(const std::string& path);

// Calls `fn(file, role, where)` for every binary and rootfs File of the task or job (parent and
// every task), role "binary" or "rootfs", where e.g. "tasks[3].rootfs".
void for_each_file(
    TaskFile& file,
    const std::function<void(v1::File&, std::string_view role, const std::string& where)>& fn);

// The local path named by a '@' ref (resolved against base_dir), or "" for a normal ref/alias.
std::string local_path_of(const v1::File& file, const std::string& base_dir);

}  // namespace wasimoff::cli
