#include "task_driver.h"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>

#include "common/async.h"
#include "net/http/client.h"

namespace wasimoff::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  const std::vector<v1::Task::Wasip1::Request>& tasks;
  const DriveOptions& options;
  std::vector<std::string> bodies;  // serialised once, before the clock starts
  DriveResult result;
  std::size_t next = 0;
};

void fail(Run& run, std::string why) {
  if (run.result.failures++ == 0) run.result.first_failure = std::move(why);
}

// One slot: a keep-alive connection that submits the next unsubmitted task until none is left.
awaitable<void> slot(Run& run) {
  auto ex = co_await asio::this_coro::executor;
  http::ClientOptions co;
  co.io_timeout = run.options.call_timeout;
  co.max_response_body = 1ull << 30;
  http::HttpClient client(ex, run.options.broker, co);
  http::Headers headers;
  headers.set("Content-Type", "application/proto");
  while (run.next < run.tasks.size()) {
    const std::size_t i = run.next++;
    auto t0 = Clock::now();
    try {
      auto res = co_await client.request("POST", "/api/client/wasimoff.v1.Tasks/RunWasip1", headers,
                                         run.bodies[i]);
      run.result.latency_ms[i] =
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      v1::Task::Wasip1::Response r;
      if (res.status != 200 || !r.ParseFromString(res.body)) {
        fail(run, fmt::format("task {}: HTTP {} {}", i, res.status, res.body.substr(0, 300)));
        continue;
      }
      if (run.options.check) {
        if (auto why = run.options.check(i, r); !why.empty())
          fail(run, fmt::format("task {}: {}", i, why));
      }
    } catch (const std::exception& e) {
      fail(run, fmt::format("task {}: {}", i, e.what()));
    }
  }
}

}  // namespace

DriveResult drive(const std::vector<v1::Task::Wasip1::Request>& tasks,
                  const DriveOptions& options) {
  Run run{tasks, options, {}, {}, 0};
  run.bodies.reserve(tasks.size());
  for (const auto& t : tasks) run.bodies.push_back(t.SerializeAsString());
  run.result.latency_ms.assign(tasks.size(), 0.0);
  asio::io_context io(1);
  const int slots = std::max(1, std::min<int>(options.inflight, static_cast<int>(tasks.size())));
  auto t0 = Clock::now();
  for (int s = 0; s < slots; ++s)
    asio::co_spawn(io, slot(run), [&run](std::exception_ptr e) {
      if (e) fail(run, "a submission slot crashed");
    });
  io.run();
  run.result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return std::move(run.result);
}

}  // namespace wasimoff::bench
