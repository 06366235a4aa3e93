// Running tasks and jobs for the CLI: submission (with the bounded retry the Broker asks for
// when its queue is full), tracing, progress, and the presentation of results — on the terminal
// or into an output directory (cli/result_files.h) — plus the exit status.
//
// Output rules (docs/cli.md):
//  * single task without --out: its stdout/stderr go to ours, artifacts are unpacked into the
//    current directory; with --out everything goes into that directory.
//  * job without --out: each task's stdout/stderr in task order (like `parallel -k`), artifacts
//    are not kept; with --out one directory per task (<out>/<index>/).
//  * failures are reported on stderr ("wasimoff: task 3: trap: …"); a summary line ends a job
//    unless quiet.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <cstdio>
#include <string>

#include "client/cli/progress.h"
#include "client/task_client.h"

namespace wasimoff::cli {

struct RunSettings {
  std::string out_dir;              // --out; empty = print to the terminal
  std::string artifacts_dir = ".";  // where a single task's artifacts go without --out
  bool trace = false;               // request traces and print them after each task
  bool quiet = false;               // no progress, no summary
  std::size_t parallel = 64;        // per-task job mode: tasks in flight
  int queue_full_retries = 30;      // "queue full" answers are retried after 1 s this often
  Progress::Mode progress = Progress::Mode::kQuiet;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

// Runs one task and presents its result. Returns the exit status: the task's own (0–255, see
// exit_codes.h) or kExitTaskError when it failed with an error. Throws client::ClientError when
// the call itself failed.
awaitable<int> run_single_task(client::TaskClient& client, asio::thread_pool& pool,
                               v1::Task::Wasip1::Request request, RunSettings settings);

enum class JobMode {
  kOneCall,  // one RunWasip1Job call; the Broker expands the job (results arrive together)
  kPerTask,  // expand locally, one request per task, `parallel` in flight (client WebSocket)
};

// Runs a job and presents the results. Returns kExitOk when every task exited with status 0,
// kExitJobFailed otherwise. Throws client::ClientError when the job could not be run (Broker
// unreachable, job rejected, connection lost).
awaitable<int> run_job(client::TaskClient& client, asio::thread_pool& pool,
                       v1::Task::Wasip1::JobRequest job, JobMode mode, RunSettings settings);

}  // namespace wasimoff::cli
