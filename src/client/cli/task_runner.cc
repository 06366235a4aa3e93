#include "client/cli/task_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <exception>
#include <map>
#include <memory>
#include <type_traits>

#include "client/cli/exit_codes.h"
#include "client/cli/result_files.h"
#include "client/cli/trace_format.h"
#include "client/client_error.h"
#include "client/job_expansion.h"
#include "common/async_semaphore.h"

namespace wasimoff::cli {

using namespace asio::experimental::awaitable_operators;
using client::ClientError;
using Request = v1::Task::Wasip1::Request;
using Response = v1::Task::Wasip1::Response;
using JobRequest = v1::Task::Wasip1::JobRequest;
using JobResponse = v1::Task::Wasip1::JobResponse;
using Event = v1::Task::TraceEvent;

namespace {

constexpr auto kQueueFullPause = std::chrono::seconds(1);

void print_bytes(std::FILE* f, std::string_view bytes) {
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
}

bool failed(const Response& r) {
  return !r.has_ok() || r.ok().status() != 0;
}

// Sends `request` until the Broker stops answering "queue full" (bounded).
awaitable<Response> submit(client::TaskClient& client, Request request, const RunSettings& s,
                           bool* warned) {
  if (request.info().has_trace())
    add_trace_event(request.mutable_info(), Event::ClientTransmitRequest);
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    try {
      Response r = co_await client.run(request);
      if (r.info().has_trace()) add_trace_event(r.mutable_info(), Event::ClientReceivedResponse);
      co_return r;
    } catch (const ClientError& e) {
      if (!e.queue_full() || attempt >= s.queue_full_retries) throw;
      retry = true;
    }
    if (retry) {
      if (!*warned && !s.quiet)
        std::fprintf(s.err, "wasimoff: the broker's queue is full, retrying every second\n");
      *warned = true;
      co_await sleep_for(kQueueFullPause);
    }
  }
}

awaitable<JobResponse> submit_job(client::TaskClient& client, JobRequest job,
                                  const RunSettings& s) {
  bool warned = false;
  for (int attempt = 0;; ++attempt) {
    try {
      co_return co_await client.run_job(job);
    } catch (const ClientError& e) {
      if (!e.queue_full() || attempt >= s.queue_full_retries) throw;
    }
    if (!warned && !s.quiet)
      std::fprintf(s.err,
                   "wasimoff: the broker's queue has no room for the job, retrying every second\n");
    warned = true;
    co_await sleep_for(kQueueFullPause);
  }
}

// A Response carrying the failure of the call for one task of a job (per-task mode).
Response failure_response(const std::string& text) {
  Response r;
  r.set_error(text);
  return r;
}

// Presents the results of a job's tasks: files written as tasks finish, terminal output in task
// order, progress, summary.
class JobPresenter {
 public:
  JobPresenter(const RunSettings& s, asio::thread_pool& pool, std::size_t total)
      : s_(s), pool_(pool), total_(total), progress_(total, s.progress, s.err) {}

  Progress& progress() { return progress_; }

  // Records task `index`'s result: writes its directory (with --out), updates the progress and
  // prints what is printable in order.
  awaitable<void> finished(std::size_t index, Response response) {
    bool bad = failed(response);
    if (!s_.out_dir.empty()) {
      std::string dir = s_.out_dir + "/" + std::to_string(index);
      auto write = [dir, &response] { write_result_dir(dir, response); };
      co_await offload(pool_, std::move(write));
      // Only the summary is needed from now on.
      if (response.has_ok()) {
        response.mutable_ok()->clear_stdout();
        response.mutable_ok()->clear_stderr();
        response.mutable_ok()->clear_artifacts();
      }
    }
    ++(bad ? failed_ : succeeded_);
    progress_.task_finished(bad);
    pending_.emplace(index, std::move(response));
    while (!pending_.empty() && pending_.begin()->first == next_) {
      print(next_, pending_.begin()->second);
      pending_.erase(pending_.begin());
      ++next_;
    }
  }

  // The summary line and the exit status.
  int finish(const std::string& label, std::string_view job_error) {
    progress_.finish();
    if (!job_error.empty())
      std::fprintf(s_.err, "wasimoff: %s failed: %.*s\n", label.c_str(),
                   static_cast<int>(job_error.size()), job_error.data());
    if (dropped_artifacts_ > 0)
      std::fprintf(s_.err, "wasimoff: %zu %s returned artifacts; use --out <dir> to keep them\n",
                   dropped_artifacts_, dropped_artifacts_ == 1 ? "task" : "tasks");
    if (!s_.quiet) {
      double secs = progress_.elapsed_seconds();
      std::string line = fmt::format("{}: {} tasks, {} succeeded, {} failed in {}", label, total_,
                                     succeeded_, failed_, Progress::format_seconds(secs));
      if (secs > 0 && total_ > 1)
        line += fmt::format(" ({:.1f} tasks/s)", static_cast<double>(total_) / secs);
      if (!s_.out_dir.empty()) line += ", results in " + s_.out_dir;
      std::fprintf(s_.err, "%s\n", line.c_str());
    }
    std::fflush(s_.out);
    std::fflush(s_.err);
    return failed_ == 0 && job_error.empty() && succeeded_ == total_ ? kExitOk : kExitJobFailed;
  }

 private:
  void print(std::size_t index, const Response& r) {
    progress_.clear();
    if (s_.out_dir.empty() && r.has_ok()) {
      print_bytes(s_.out, r.ok().stdout());
      std::fflush(s_.out);
      print_bytes(s_.err, r.ok().stderr());
      if (r.ok().has_artifacts() && !r.ok().artifacts().blob().empty()) ++dropped_artifacts_;
    }
    if (r.has_error())
      std::fprintf(s_.err, "wasimoff: task %zu: %s\n", index, r.error().c_str());
    else if (!r.has_ok())
      std::fprintf(s_.err, "wasimoff: task %zu: the broker returned no result\n", index);
    else if (r.ok().status() != 0)
      std::fprintf(s_.err, "wasimoff: task %zu exited with status %d\n", index, r.ok().status());
    if (s_.trace) {
      std::string t = format_trace(r.info(), fmt::format("task {} (id {})", index, r.info().id()));
      std::fputs(t.c_str(), s_.err);
    }
    std::fflush(s_.err);
  }

  const RunSettings& s_;
  asio::thread_pool& pool_;
  std::size_t total_;
  Progress progress_;
  std::map<std::size_t, Response> pending_;
  std::size_t next_ = 0;
  std::size_t succeeded_ = 0;
  std::size_t failed_ = 0;
  std::size_t dropped_artifacts_ = 0;
};

// Redraws the progress bar until `done` is set.
awaitable<void> tick_until(Progress& progress, OneShotEvent& done) {
  while (!done.is_set()) {
    co_await (done.wait() || sleep_for(std::chrono::milliseconds(200)));
    if (!done.is_set()) progress.tick();
  }
}

// Runs `work` and sets `done` when it finished, also when it threw. Paired with tick_until via
// `&&`, which (unlike `||`, that waits for the first *success*) ends as soon as either side
// fails.
template <typename T>
awaitable<T> signal_when_done(awaitable<T> work, OneShotEvent& done) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(work);
      done.set();
    } else {
      T value = co_await std::move(work);
      done.set();
      co_return value;
    }
  } catch (...) {
    done.set();
    throw;
  }
}

std::string job_label(const JobRequest& job) {
  return job.info().has_reference() && !job.info().reference().empty()
             ? "job " + job.info().reference()
             : std::string("job");
}

// Per-task mode: every task its own request, at most `parallel` in flight.
class PerTaskJob : public std::enable_shared_from_this<PerTaskJob> {
 public:
  PerTaskJob(client::TaskClient& client, asio::thread_pool& pool, std::vector<Request> tasks,
             const RunSettings& s, asio::any_io_executor ex)
      : client_(client),
        s_(s),
        tasks_(std::move(tasks)),
        presenter_(s, pool, tasks_.size()),
        limit_(ex, s.parallel),
        all_done_(ex),
        ex_(ex) {}

  awaitable<void> run() {
    OneShotEvent done(ex_);
    co_await (signal_when_done(submit_all(), done) && tick_until(presenter_.progress(), done));
    if (fatal_) {
      presenter_.progress().finish();
      std::rethrow_exception(fatal_);
    }
  }

  JobPresenter& presenter() { return presenter_; }

 private:
  using ConcurrencyPermit = AsyncSemaphore::Permit;

  awaitable<void> submit_all() {
    for (std::size_t i = 0; i < tasks_.size() && !fatal_; ++i) {
      auto permit = co_await limit_.acquire();
      if (fatal_) break;
      ++outstanding_;
      asio::co_spawn(ex_, hold(shared_from_this(), one(i, std::move(permit))), asio::detached);
    }
    submitted_ = true;
    if (outstanding_ > 0) co_await all_done_.wait();
  }

  awaitable<void> one(std::size_t index, ConcurrencyPermit permit) {
    Response result;
    bool have = false;
    try {
      result = co_await submit(client_, std::move(tasks_[index]), s_, &warned_);
      have = true;
    } catch (const ClientError& e) {
      // An RPC error concerns this task only (e.g. not_found for its binary); a broken
      // connection or an unintelligible answer ends the whole run.
      if (e.kind() == ClientError::Kind::kRpc) {
        result = failure_response(e.what());
        have = true;
      } else if (!fatal_) {
        fatal_ = std::current_exception();
      }
    } catch (...) {
      if (!fatal_) fatal_ = std::current_exception();
    }
    permit.release();  // the next task may start while this result is written
    if (have) {
      try {
        co_await presenter_.finished(index, std::move(result));
      } catch (...) {
        if (!fatal_) fatal_ = std::current_exception();
      }
    }
    if (--outstanding_ == 0 && submitted_) all_done_.set();
  }

  client::TaskClient& client_;
  const RunSettings& s_;
  std::vector<Request> tasks_;
  JobPresenter presenter_;
  AsyncSemaphore limit_;
  OneShotEvent all_done_;
  asio::any_io_executor ex_;
  std::size_t outstanding_ = 0;
  bool submitted_ = false;
  bool warned_ = false;
  std::exception_ptr fatal_;
};

}  // namespace

awaitable<int> run_single_task(client::TaskClient& client, asio::thread_pool& pool, Request request,
                               RunSettings s) {
  if (s.trace) request_trace(request.mutable_info());
  bool warned = false;
  Response r = co_await submit(client, std::move(request), s, &warned);
  int status = kExitOk;
  if (r.has_error()) {
    status = kExitTaskError;
  } else if (!r.has_ok()) {
    throw ClientError(ClientError::Kind::kProtocol, "", "the broker returned an empty result");
  } else {
    status = exit_status_for(r.ok().status());
  }
  if (!s.out_dir.empty()) {
    auto write = [dir = s.out_dir, &r] { write_result_dir(dir, r); };
    co_await offload(pool, std::move(write));
  } else if (r.has_ok()) {
    print_bytes(s.out, r.ok().stdout());
    std::fflush(s.out);
    print_bytes(s.err, r.ok().stderr());
    if (r.ok().has_artifacts() && !r.ok().artifacts().blob().empty()) {
      auto unpack = [dir = s.artifacts_dir, &r] {
        return extract_artifacts(r.ok().artifacts().blob(), dir);
      };
      std::size_t files = co_await offload(pool, std::move(unpack));
      spdlog::debug("unpacked {} artifact files into {}", files, s.artifacts_dir);
    }
  }
  if (r.has_error()) std::fprintf(s.err, "wasimoff: task failed: %s\n", r.error().c_str());
  if (r.has_ok() && exit_status_for(r.ok().status()) != r.ok().status())
    std::fprintf(s.err,
                 "wasimoff: the task's exit status %d does not fit an exit code; exiting with %d\n",
                 r.ok().status(), status);
  if (s.trace) std::fputs(format_trace(r.info(), "task " + r.info().id()).c_str(), s.err);
  std::fflush(s.out);
  std::fflush(s.err);
  co_return status;
}

awaitable<int> run_job(client::TaskClient& client, asio::thread_pool& pool, JobRequest job,
                       JobMode mode, RunSettings s) {
  auto ex = co_await asio::this_coro::executor;
  if (s.trace) request_trace(job.mutable_info());
  std::string label = job_label(job);
  if (mode == JobMode::kPerTask) {
    auto run = std::make_shared<PerTaskJob>(client, pool, client::expand_job(job), s, ex);
    co_await run->run();
    co_return run->presenter().finish(label, "");
  }
  // All results arrive together: plain progress lines would say nothing (the bar still shows
  // the waiting time on a terminal).
  if (s.progress == Progress::Mode::kLines) s.progress = Progress::Mode::kQuiet;
  JobPresenter presenter(s, pool, static_cast<std::size_t>(job.tasks_size()));
  std::size_t expected = static_cast<std::size_t>(job.tasks_size());
  if (job.info().has_trace()) add_trace_event(job.mutable_info(), Event::ClientTransmitRequest);
  JobResponse response;
  try {
    OneShotEvent done(ex);
    response = co_await (signal_when_done(submit_job(client, std::move(job), s), done) &&
                         tick_until(presenter.progress(), done));
  } catch (...) {
    presenter.progress().finish();
    throw;
  }
  if (static_cast<std::size_t>(response.tasks_size()) != expected && !response.has_error()) {
    presenter.progress().finish();
    throw ClientError(ClientError::Kind::kProtocol, "",
                      fmt::format("the broker returned {} results for {} tasks",
                                  response.tasks_size(), expected));
  }
  for (int i = 0; i < response.tasks_size(); ++i) {
    if (response.tasks(i).info().has_trace())
      add_trace_event(response.mutable_tasks(i)->mutable_info(), Event::ClientReceivedResponse);
    co_await presenter.finished(static_cast<std::size_t>(i), std::move(*response.mutable_tasks(i)));
  }
  co_return presenter.finish(label, response.error());
}

}  // namespace wasimoff::cli
