// wasimoff-bench-fleet: what a fleet of N providers costs the Broker (issue 11).
//
// Starts a real wasimoff-broker (or uses --broker-url) and connects N fake providers from this one
// process: all of them on a few io_context threads (--threads, default 1), at most
// --connect-concurrency handshakes at a time. Each fake provider is the echo provider of
// bench/transport (echo_peer.h): it connects like the native provider does (WebSocket, or
// WebTransport via /api/broker/v1/config and the certhash), announces --concurrency slots,
// answers Listing (no files), Ping and Task.Cancel, answers every Task.Wasip1.Request at once with
// stdout = stdin (echo mode), and counts every message it receives by type.
//
// A provider is admitted once it answered the Listing and received a ClusterInfo
// (docs/protocol.md §8 steps 2–3). Reported:
//   admission   first connect → all N admitted; per provider connect → Listing and connect →
//               admitted (p50/p99); the handshakes alone
//   refusals    connect failures (grouped by message and seconds taken) and closes by the
//               Broker (grouped by close code and reason); the Broker's warnings and errors
//   messages    per provider, received from its connect until the whole fleet was admitted:
//               ClusterInfo, Throughput, Ping and total (mean, max); and the ClusterInfo events
//               once they all arrived, against N(N+1)/2 (one broadcast to all per join)
//   broker      VmRSS before the fleet and after admission (÷ N), CPU seconds during admission
//               (only for the Broker started here, or with --broker-pid); --hold S: the idle
//               fleet's message rate and the Broker's CPU for S seconds after admission
//   tasks       echo mode: --tasks no-op echo tasks through the Connect API (RunWasip1,
//               bench/provider's task driver), --inflight at once; tasks/s, latency, how many
//               providers served how many
// and one machine-readable line starting with "RESULT fleet ".
//
// Limits: the soft RLIMIT_NOFILE is raised to the hard limit (the Broker started here inherits
// it); a run that needs more descriptors than that is refused up front. The Broker started here
// gets WASIMOFF_MAX_CONNECTIONS_PER_IP=0 (no per-address limit), since every provider connects
// from 127.0.0.1. Every wait is bounded; after --timeout seconds the tool reports what it has and
// exits 1. Exit status 0 only when all N were admitted, none was closed by the Broker, and (echo
// mode) every task came back right. Loopback only.
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "bench_cluster.h"
#include "bench_stats.h"
#include "echo_peer.h"
#include "process_cpu.h"
#include "task_driver.h"

namespace {

using namespace wasimoff;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Options {
  int providers = 1000;
  std::string transport = "websocket";
  std::string mode = "idle";
  int tasks = 2000;
  int inflight = 32;
  int concurrency = 1;
  int threads = 1;
  int connect_concurrency = 100;
  double hold = 0;
  double timeout = 300;
  std::string broker_url;
  int broker_pid = 0;
};

// One fake provider. The counters and time stamps are written on its loop thread and read by the
// main thread (atomics); the messenger is touched on the loop thread only.
struct Provider {
  static constexpr std::int64_t kNever = -1;
  std::size_t index = 0;
  // Nanoseconds since the fleet's start.
  std::atomic<std::int64_t> connect_at{kNever}, connected_at{kNever}, listing_at{kNever},
      cluster_at{kNever}, admitted_at{kNever};
  std::atomic<std::uint32_t> cluster_info{0}, throughput{0}, other_events{0}, listing{0}, ping{0},
      task{0}, cancel{0};
  std::shared_ptr<protocol::Messenger> messenger;

  std::uint32_t total() const {
    return cluster_info + throughput + other_events + listing + ping + task + cancel;
  }
};

struct Loop {
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::vector<Provider*> members;
  std::size_t connecting = 0;  // handshakes in progress (loop thread only)
  asio::steady_timer slot_free{io, Clock::time_point::max()};
};

class Fleet {
 public:
  Fleet(const Options& o, bench::BrokerEndpoints endpoints)
      : o_(o), endpoints_(std::move(endpoints)), providers_(static_cast<std::size_t>(o.providers)) {
    for (int t = 0; t < o_.threads; ++t) loops_.push_back(std::make_unique<Loop>());
    for (std::size_t i = 0; i < providers_.size(); ++i) {
      providers_[i].index = i;
      loops_[i % loops_.size()]->members.push_back(&providers_[i]);
    }
  }
  ~Fleet() { stop(); }
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  void start() {
    start_ = Clock::now();
    for (auto& l : loops_) {
      Loop& loop = *l;
      loop.guard.emplace(asio::make_work_guard(loop.io));
      asio::co_spawn(loop.io, launch(loop), asio::detached);
      loop.thread = std::thread([&loop] {
        try {
          loop.io.run();
        } catch (const std::exception& e) {
          std::cerr << "fleet loop: " << e.what() << "\n";
        }
        loop.finished = true;
      });
    }
  }

  // Closes every connection normally, lets the loops finish (at most `limit`), then stops them.
  void stop(std::chrono::milliseconds limit = 5s) {
    if (stopped_) return;
    stopped_ = true;
    closing_ = true;
    for (auto& l : loops_) {
      Loop& loop = *l;
      if (!loop.thread.joinable()) continue;
      asio::post(loop.io, [&loop] {
        loop.slot_free.cancel();
        for (auto* p : loop.members)
          if (p->messenger) p->messenger->close(protocol::CloseCode::kNormal, "fleet done");
      });
      loop.guard.reset();
    }
    auto end = Clock::now() + limit;
    for (auto& l : loops_) {
      while (!l->finished && Clock::now() < end) std::this_thread::sleep_for(10ms);
      if (!l->finished) l->io.stop();
      if (l->thread.joinable()) l->thread.join();
    }
    // The loops have stopped: release the connections while their io_contexts still exist.
    for (auto& p : providers_) p.messenger.reset();
  }

  double seconds_since_start(std::int64_t ns) const { return static_cast<double>(ns) / 1e9; }
  std::int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  }
  Clock::time_point started() const { return start_; }

  const std::vector<Provider>& providers() const { return providers_; }
  std::size_t admitted() const { return admitted_; }
  std::size_t connected() const { return connected_; }
  std::size_t connect_failed() const { return connect_failed_; }
  std::size_t closed_before_admission() const { return closed_before_; }
  std::size_t closed_after_admission() const { return closed_after_; }
  // Every provider admitted, failed to connect, or closed before it was admitted.
  std::size_t settled() const { return admitted_ + connect_failed_ + closed_before_; }
  std::int64_t all_admitted_at() const { return all_admitted_at_; }
  std::map<std::string, std::size_t> connect_errors() const {
    std::lock_guard lock(mu_);
    return connect_errors_;
  }
  std::map<std::string, std::size_t> close_reasons() const {
    std::lock_guard lock(mu_);
    return close_reasons_;
  }

 private:
  awaitable<void> launch(Loop& loop) {
    const std::size_t limit = static_cast<std::size_t>(
        std::max(1, o_.connect_concurrency / static_cast<int>(loops_.size())));
    for (Provider* p : loop.members) {
      while (loop.connecting >= limit && !closing_) {
        boost::system::error_code ec;
        loop.slot_free.expires_at(Clock::time_point::max());
        co_await loop.slot_free.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (closing_) co_return;
      ++loop.connecting;
      asio::co_spawn(loop.io, run(loop, *p), asio::detached);
    }
  }

  void note(std::map<std::string, std::size_t>& where, std::string what) {
    if (what.size() > 160) what = what.substr(0, 160) + "…";
    std::lock_guard lock(mu_);
    ++where[what];
  }

  void check_admitted(Provider& p) {
    if (p.admitted_at != Provider::kNever || p.listing_at == Provider::kNever ||
        p.cluster_at == Provider::kNever)
      return;
    p.admitted_at = now_ns();
    if (++admitted_ == providers_.size()) all_admitted_at_ = p.admitted_at.load();
  }

  awaitable<void> run(Loop& loop, Provider& p) {
    auto ex = co_await asio::this_coro::executor;
    p.connect_at = now_ns();
    std::unique_ptr<protocol::Transport> transport;
    std::string failure;
    try {
      auto endpoints = endpoints_;
      std::string kind = o_.transport, name = fmt::format("fleet-{}", p.index),
                  user_agent = "wasimoff-bench-fleet";
      transport = co_await bench::connect_provider(std::move(endpoints), std::move(kind),
                                                   std::move(name), std::move(user_agent));
    } catch (const std::exception& e) {
      failure = e.what();
    }
    --loop.connecting;
    loop.slot_free.cancel();
    if (!transport) {
      ++connect_failed_;
      // Grouped with the whole seconds it took: a failure after the 10 s handshake limit is a
      // timeout even when the message says otherwise (Beast reports a WebSocket handshake that
      // timed out as "HTTP 500": it presets that status before the response arrives).
      std::string trimmed = failure.empty() ? "unknown" : failure;
      while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
      // The provider's own name (in WebTransport URLs) would keep every failure apart.
      const std::string name = fmt::format("fleet-{}", p.index);
      if (auto at = trimmed.find(name); at != std::string::npos)
        trimmed.replace(at, name.size(), "fleet-#");
      note(connect_errors_, fmt::format("{} [after {:.0f} s]", trimmed,
                                        static_cast<double>(now_ns() - p.connect_at) / 1e9));
      co_return;
    }
    if (closing_) co_return;
    p.connected_at = now_ns();
    ++connected_;

    protocol::Messenger::Options mo;
    mo.name = "broker";
    mo.disconnect_error = "broker disconnected";
    auto m = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
    p.messenger = m;
    bench::serve_echo(*m, [this, &p](bench::EchoRequest r) {
      switch (r) {
        case bench::EchoRequest::kListing:
          ++p.listing;
          if (p.listing_at == Provider::kNever) p.listing_at = now_ns();
          check_admitted(p);
          break;
        case bench::EchoRequest::kPing:
          ++p.ping;
          break;
        case bench::EchoRequest::kTask:
          ++p.task;
          break;
        case bench::EchoRequest::kCancel:
          ++p.cancel;
          break;
      }
    });
    m->on_event([this, &p](const google::protobuf::Message& e) {
      const auto* type = e.GetDescriptor();
      if (type == v1::Event::ClusterInfo::descriptor()) {
        ++p.cluster_info;
        if (p.cluster_at == Provider::kNever) p.cluster_at = now_ns();
        check_admitted(p);
      } else if (type == v1::Event::Throughput::descriptor()) {
        ++p.throughput;
      } else {
        ++p.other_events;
      }
    });
    m->start();
    v1::Event::ProviderResources resources;
    resources.set_concurrency(static_cast<std::uint32_t>(o_.concurrency));
    resources.set_tasks(0);
    m->send_event(resources);

    co_await m->closed().wait();
    if (closing_) co_return;  // closed by us
    if (p.admitted_at == Provider::kNever)
      ++closed_before_;
    else
      ++closed_after_;
    note(close_reasons_, m->close_reason());
  }

  const Options& o_;
  bench::BrokerEndpoints endpoints_;
  // Declared before providers_: destroyed after them, so every connection is released while
  // its io_context still exists.
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<Provider> providers_;
  Clock::time_point start_;
  std::atomic<bool> closing_{false};
  bool stopped_ = false;
  std::atomic<std::size_t> admitted_{0}, connected_{0}, connect_failed_{0}, closed_before_{0},
      closed_after_{0};
  std::atomic<std::int64_t> all_admitted_at_{Provider::kNever};
  mutable std::mutex mu_;
  std::map<std::string, std::size_t> connect_errors_, close_reasons_;
};

// ---- the Broker process ----

// VmRSS of `pid` in KiB (0 when unreadable).
double rss_kib(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
  return 0;
}

struct BrokerSample {
  double rss_kib = 0, cpu_s = 0;
};

BrokerSample sample(pid_t pid) {
  if (pid <= 0) return {};
  return {rss_kib(pid), bench::process_tree_cpu_seconds(pid)};
}

// The Broker's warnings and errors, grouped (digits → '#', so per-connection details fold
// together), most frequent first. Log lines: "<timestamp> <level> <message>".
std::vector<std::pair<std::size_t, std::string>> broker_complaints(const std::string& log) {
  std::map<std::string, std::size_t> groups;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    auto rest = std::string_view(line).substr(sp + 1);
    if (rest.rfind("warn", 0) != 0 && rest.rfind("error", 0) != 0) continue;
    std::string key(rest);
    for (auto& c : key)
      if (c >= '0' && c <= '9') c = '#';
    key.erase(
        std::unique(key.begin(), key.end(), [](char a, char b) { return a == '#' && b == '#'; }),
        key.end());
    if (key.size() > 200) key = key.substr(0, 200) + "…";
    ++groups[key];
  }
  std::vector<std::pair<std::size_t, std::string>> out;
  for (auto& [k, v] : groups) out.emplace_back(v, k);
  std::sort(out.rbegin(), out.rend());
  return out;
}

// ---- figures ----

struct MessageCounts {
  std::vector<double> cluster_info, throughput, ping, total;
};

MessageCounts snapshot(const Fleet& fleet) {
  MessageCounts c;
  for (const auto& p : fleet.providers()) {
    if (p.connected_at == Provider::kNever) continue;
    c.cluster_info.push_back(p.cluster_info);
    c.throughput.push_back(p.throughput);
    c.ping.push_back(p.ping);
    c.total.push_back(p.total());
  }
  return c;
}

std::string mean_max(const std::vector<double>& v) {
  auto s = bench::summarize(v);
  return fmt::format("mean {:.1f}, max {:.0f}", s.mean, s.max);
}

std::string ms_summary(const bench::LatencySummary& s) {
  if (s.count == 0) return "-";
  return fmt::format("p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms (n={})", s.p50, s.p99, s.max,
                     s.count);
}

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
rlim_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur;
}

v1::Task::Wasip1::Request echo_task(std::size_t i) {
  v1::Task::Wasip1::Request r;
  r.mutable_params()->mutable_binary()->set_ref("noop.wasm");  // resolved, never run
  r.mutable_params()->add_args("echo");
  r.mutable_params()->set_stdin(fmt::format("task-{}", i));
  return r;
}

template <typename T>
std::optional<T> wait_until(std::future<T>& f, Clock::time_point deadline) {
  if (f.wait_until(deadline) != std::future_status::ready) return std::nullopt;
  return f.get();
}

int run(const Options& o) {
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout * 1000));
  const bool echo = o.mode == "echo";

  // File descriptors: one per provider connection (a TCP socket, or a UDP socket per QUIC
  // connection), plus the task driver's connections and a reserve for the process itself.
  const rlim_t fd_limit = raise_fd_limit();
  const rlim_t reserve =
      64 + static_cast<rlim_t>(o.threads) * 4 + (echo ? static_cast<rlim_t>(o.inflight) : 0);
  const rlim_t needed = static_cast<rlim_t>(o.providers) + reserve;
  std::cout << "== wasimoff-bench-fleet\nmachine: " << bench::machine_facts() << "\n"
            << fmt::format(
                   "fleet: {} providers over {}, mode {}, {} loop thread(s), {} handshakes at a "
                   "time, concurrency {} each\n",
                   o.providers, o.transport, o.mode, o.threads, o.connect_concurrency,
                   o.concurrency)
            << fmt::format(
                   "file descriptors: RLIMIT_NOFILE soft limit raised to {}; this run "
                   "needs about {} here{}\n",
                   fd_limit, needed,
                   o.broker_url.empty() ? " and as many in the Broker (it inherits it)" : "");
  if (needed > fd_limit) {
    std::cout << fmt::format(
        "REFUSED: {} providers need about {} file descriptors, the limit is {} (hard limit); at "
        "most {} providers fit. Raise the hard limit (ulimit -Hn, as root) or use fewer.\n",
        o.providers, needed, fd_limit, fd_limit > reserve ? fd_limit - reserve : 0);
    return 2;
  }

  std::unique_ptr<testing::BrokerProcess> own_broker;
  std::string broker_url = o.broker_url;
  pid_t broker_pid = o.broker_pid;
  if (broker_url.empty()) {
    own_broker = std::make_unique<testing::BrokerProcess>(
        std::map<std::string, std::string>{{"WASIMOFF_MAX_CONNECTIONS_PER_IP", "0"}});
    broker_url = own_broker->url();
    broker_pid = own_broker->process().pid();
    std::cout << fmt::format(
        "broker: started here ({}, pid {}) with WASIMOFF_MAX_CONNECTIONS_PER_IP=0 (no "
        "per-address limit); every provider connects from 127.0.0.1\n",
        broker_url, broker_pid);
  } else {
    std::cout << fmt::format(
        "broker: {} (already running{}); every provider connects from 127.0.0.1, so its "
        "WASIMOFF_MAX_CONNECTIONS_PER_IP (default 256) must allow {}\n",
        broker_url, broker_pid > 0 ? fmt::format(", pid {}", broker_pid) : ", pid unknown",
        o.providers);
  }
  std::cout.flush();
  if (echo)
    bench::upload(broker_url, bench::read_build_file(WASIMOFF_BENCH_NOOP_WASM), "noop.wasm");

  bench::BrokerEndpoints endpoints;
  {
    asio::io_context io(1);
    auto f = asio::co_spawn(io, bench::discover_broker(broker_url, o.transport), asio::use_future);
    io.run_for(15s);
    if (f.wait_for(0s) != std::future_status::ready)
      throw std::runtime_error("broker discovery: no answer within 15 s");
    endpoints = f.get();
  }

  const BrokerSample before = sample(broker_pid);
  const double self_before = bench::self_cpu_seconds();
  Fleet fleet(o, endpoints);
  fleet.start();
  const std::size_t n = static_cast<std::size_t>(o.providers);

  // Admission: until every provider is admitted or gone, bounded by the deadline.
  auto last_progress = Clock::now();
  while (fleet.settled() < n && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    if (Clock::now() - last_progress >= 5s) {
      last_progress = Clock::now();
      std::cout << fmt::format(
          "  {:6.1f} s: connected {}, admitted {}, connect failures {}, "
          "closed {}\n",
          fleet.seconds_since_start(fleet.now_ns()), fleet.connected(), fleet.admitted(),
          fleet.connect_failed(), fleet.closed_before_admission() + fleet.closed_after_admission());
      std::cout.flush();
    }
  }
  const bool all_admitted = fleet.admitted() == n;
  const double admission_s = fleet.seconds_since_start(
      all_admitted ? fleet.all_admitted_at() : fleet.now_ns());  // incomplete: so far
  const MessageCounts counts = snapshot(fleet);
  const BrokerSample admitted_sample = sample(broker_pid);
  const double self_admission = bench::self_cpu_seconds() - self_before;
  bool timed_out = !all_admitted && fleet.settled() < n;

  // The ClusterInfo events the joins caused may still be on their way when the last provider is
  // admitted (the Broker queues them per connection); count them once nothing new arrived for
  // 1 s (at most 30 s).
  auto cluster_total = [&fleet] {
    double sum = 0;
    for (const auto& p : fleet.providers()) sum += p.cluster_info;
    return sum;
  };
  {
    const auto settle_end = std::min(deadline, Clock::now() + 30s);
    double last = cluster_total();
    auto quiet_since = Clock::now();
    while (!timed_out && Clock::now() < settle_end && Clock::now() - quiet_since < 1s) {
      std::this_thread::sleep_for(100ms);
      if (double now = cluster_total(); now != last) {
        last = now;
        quiet_since = Clock::now();
      }
    }
  }
  std::vector<double> cluster_settled;
  for (const auto& p : fleet.providers())
    if (p.connected_at != Provider::kNever) cluster_settled.push_back(p.cluster_info);

  // Hold: the admitted fleet, idle, for --hold seconds (steady-state cost).
  double hold_s = 0, hold_cpu = 0, hold_msgs = 0;
  if (o.hold > 0 && !timed_out) {
    auto until = std::min(deadline, Clock::now() + std::chrono::milliseconds(
                                                       static_cast<std::int64_t>(o.hold * 1000)));
    auto t0 = Clock::now();
    double m0 = 0, m1 = 0;
    for (const auto& p : fleet.providers()) m0 += p.total();
    auto cpu0 = sample(broker_pid).cpu_s;
    while (Clock::now() < until) std::this_thread::sleep_for(50ms);
    for (const auto& p : fleet.providers()) m1 += p.total();
    hold_s = std::chrono::duration<double>(Clock::now() - t0).count();
    hold_cpu = sample(broker_pid).cpu_s - cpu0;
    hold_msgs = m1 - m0;
  }

  // Echo mode: tasks through the Connect API, spread by the Broker over the fleet.
  std::optional<bench::DriveResult> drive_result;
  bool tasks_timed_out = false;
  std::thread driver;
  std::future<bench::DriveResult> driven;
  if (echo && fleet.admitted() > 0 && !timed_out) {
    std::vector<v1::Task::Wasip1::Request> tasks;
    for (std::size_t i = 0; i < static_cast<std::size_t>(o.tasks); ++i)
      tasks.push_back(echo_task(i));
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    bench::DriveOptions dopt{broker_url, o.inflight, std::max(remaining, 1000ms),
                             [](std::size_t i, const v1::Task::Wasip1::Response& r) {
                               if (!r.has_ok()) return "error: " + r.error();
                               return r.ok().stdout() == fmt::format("task-{}", i)
                                          ? std::string()
                                          : std::string("wrong echo");
                             }};
    std::packaged_task<bench::DriveResult()> job(
        [tasks = std::move(tasks), dopt] { return bench::drive(tasks, dopt); });
    driven = job.get_future();
    driver = std::thread(std::move(job));
    drive_result = wait_until(driven, deadline);
    tasks_timed_out = !drive_result;
  }

  // ---- report ----
  std::vector<double> to_listing, to_admitted, handshake;
  for (const auto& p : fleet.providers()) {
    if (p.listing_at != Provider::kNever)
      to_listing.push_back(static_cast<double>(p.listing_at - p.connect_at) / 1e6);
    if (p.admitted_at != Provider::kNever)
      to_admitted.push_back(static_cast<double>(p.admitted_at - p.connect_at) / 1e6);
    if (p.connected_at != Provider::kNever)
      handshake.push_back(static_cast<double>(p.connected_at - p.connect_at) / 1e6);
  }
  auto listing_s = bench::summarize(to_listing), admitted_s = bench::summarize(to_admitted),
       handshake_s = bench::summarize(handshake);
  const double rss_per = before.rss_kib > 0 && admitted_sample.rss_kib > 0
                             ? (admitted_sample.rss_kib - before.rss_kib) / static_cast<double>(n)
                             : -1;
  const double broker_cpu = broker_pid > 0 ? admitted_sample.cpu_s - before.cpu_s : -1;
  auto ci = bench::summarize(cluster_settled), tot = bench::summarize(counts.total);
  const double ci_total = ci.mean * static_cast<double>(ci.count);

  std::cout << "\n"
            << fmt::format("{:<34} {}/{}{}\n", "admitted", fleet.admitted(), n,
                           timed_out ? " (timeout: incomplete)" : "")
            << fmt::format("{:<34} {:.2f} s\n",
                           all_admitted ? "admission (first connect → all)"
                                        : "admission (first connect → last seen)",
                           admission_s)
            << fmt::format("{:<34} {}\n", "connect → Listing, per provider", ms_summary(listing_s))
            << fmt::format("{:<34} {}\n", "connect → admitted, per provider",
                           ms_summary(admitted_s))
            << fmt::format("{:<34} {}\n", "transport handshake", ms_summary(handshake_s))
            << fmt::format("{:<34} {}\n", "connect failures", fleet.connect_failed());
  bool preset_500 = false;
  for (const auto& [why, count] : fleet.connect_errors()) {
    std::cout << fmt::format("{:<34}   {} × {}\n", "", count, why);
    preset_500 = preset_500 || why.find(": HTTP 500 [") != std::string::npos;
  }
  if (preset_500)
    std::cout << fmt::format(
        "{:<34}   (\"HTTP 500\" without a body: no HTTP answer at all; Beast presets 500 before a "
        "client handshake. After 10 s: the handshake timed out; at once: the Broker closed the "
        "connection, e.g. its per-address limit)\n",
        "");
  std::cout << fmt::format("{:<34} {} before admission, {} after\n", "closed by the broker",
                           fleet.closed_before_admission(), fleet.closed_after_admission());
  for (const auto& [why, count] : fleet.close_reasons())
    std::cout << fmt::format("{:<34}   {} × {}\n", "", count, why);
  std::cout << fmt::format("{:<34} ClusterInfo {}; Throughput {}; Ping {}; all {}\n",
                           "msgs/provider until all admitted", mean_max(counts.cluster_info),
                           mean_max(counts.throughput), mean_max(counts.ping),
                           mean_max(counts.total))
            << fmt::format("{:<34} {}; fleet total {:.0f} ({:.2f} × N(N+1)/2)\n",
                           "ClusterInfo/provider, all arrived", mean_max(cluster_settled), ci_total,
                           ci_total / (static_cast<double>(n) * static_cast<double>(n + 1) / 2));
  if (broker_pid > 0)
    std::cout << fmt::format(
                     "{:<34} {:.0f} KiB before, {:.0f} KiB admitted → {:.1f} KiB/provider\n",
                     "broker VmRSS", before.rss_kib, admitted_sample.rss_kib, rss_per)
              << fmt::format("{:<34} {:.2f} s (this process: {:.2f} s)\n",
                             "broker CPU during admission", broker_cpu, self_admission);
  else
    std::cout << fmt::format("{:<34} unknown (pass --broker-pid)\n", "broker VmRSS / CPU");
  if (hold_s > 0)
    std::cout << fmt::format(
        "{:<34} {:.1f} s: {:.0f} msgs/s to the fleet, broker CPU {:.2f} s "
        "({:.0f}% of a core)\n",
        "idle hold", hold_s, hold_msgs / hold_s, hold_cpu, 100 * hold_cpu / hold_s);

  std::size_t tasks_ok = 0;
  double tasks_per_s = 0;
  if (echo) {
    std::vector<double> per_provider;
    std::size_t used = 0;
    for (const auto& p : fleet.providers()) {
      per_provider.push_back(p.task);
      if (p.task > 0) ++used;
    }
    auto pp = bench::summarize(per_provider);
    if (drive_result) {
      tasks_ok = drive_result->latency_ms.size() - drive_result->failures;
      tasks_per_s = static_cast<double>(tasks_ok) / drive_result->seconds;
      std::cout << fmt::format("{:<34} {}/{} ok in {:.2f} s → {:.0f} tasks/s ({} in flight)\n",
                               "echo tasks", tasks_ok, o.tasks, drive_result->seconds, tasks_per_s,
                               o.inflight)
                << fmt::format("{:<34} {}\n", "task round trip",
                               bench::format_latency(bench::summarize(drive_result->latency_ms)));
      if (!drive_result->ok())
        std::cout << fmt::format("{:<34} {} failure(s), first: {}\n", "", drive_result->failures,
                                 drive_result->first_failure);
    } else {
      std::cout << fmt::format("{:<34} not finished{} ({:.0f} answered by the fleet)\n",
                               "echo tasks", tasks_timed_out ? " within the timeout" : "",
                               pp.mean * static_cast<double>(pp.count));
    }
    std::cout << fmt::format("{:<34} {} of {} providers got tasks, max {:.0f} per provider\n",
                             "task spread", used, n, pp.max);
  }

  if (own_broker) {
    auto complaints = broker_complaints(own_broker->process().stderr_text());
    std::size_t total = 0;
    for (const auto& [count, what] : complaints) total += count;
    std::cout << fmt::format("{:<34} {} line(s){}\n", "broker warnings/errors", total,
                             complaints.empty() ? "" : ", most frequent:");
    for (std::size_t i = 0; i < complaints.size() && i < 8; ++i)
      std::cout << fmt::format("{:<34}   {} × {}\n", "", complaints[i].first, complaints[i].second);
  }

  const bool ok = all_admitted && fleet.closed_after_admission() == 0 &&
                  (!echo || (drive_result && drive_result->ok()));
  std::cout
      << fmt::format(
             "RESULT fleet transport={} mode={} providers={} admitted={} admission_s={:.3f} "
             "listing_p50_ms={:.1f} listing_p99_ms={:.1f} connect_failed={} "
             "closed_before={} closed_after={} clusterinfo_mean={:.1f} "
             "clusterinfo_max={:.0f} clusterinfo_total={:.0f} msgs_mean={:.1f} msgs_max={:.0f} "
             "broker_rss_kib_per_provider={:.1f} broker_cpu_s={:.2f} self_cpu_s={:.2f} "
             "tasks_ok={} tasks={} tasks_per_s={:.1f} per_ip_limit={} ok={}",
             o.transport, o.mode, n, fleet.admitted(), admission_s, listing_s.p50, listing_s.p99,
             fleet.connect_failed(), fleet.closed_before_admission(),
             fleet.closed_after_admission(), ci.mean, ci.max, ci_total, tot.mean, tot.max, rss_per,
             broker_cpu, self_admission, tasks_ok, echo ? o.tasks : 0, tasks_per_s,
             o.broker_url.empty() ? "off" : "broker's", ok ? 1 : 0)
      << std::endl;

  if (tasks_timed_out) {
    std::cout << "wasimoff-bench-fleet: timeout (" << o.timeout << " s) while tasks ran"
              << std::endl;
    fleet.stop();
    if (own_broker) own_broker->stop();
    std::_Exit(1);  // the driver thread may still wait on a call; nothing left to report
  }
  if (driver.joinable()) driver.join();
  fleet.stop();
  if (own_broker) own_broker->stop();
  if (timed_out) std::cout << "wasimoff-bench-fleet: timeout (" << o.timeout << " s)\n";
  std::cout << "machine after: " << bench::machine_facts() << std::endl;
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "wasimoff-bench-fleet: N fake providers from one process against a real Broker (admission "
      "time, refusals, messages per provider, Broker memory and CPU, echo task throughput); "
      "loopback only"};
  app.add_option("-n,--providers", o.providers, "fake providers to connect")
      ->check(CLI::Range(1, 100000));
  app.add_option("--transport", o.transport, "provider transport")
      ->check(CLI::IsMember({"websocket", "webtransport"}));
  app.add_option("--mode", o.mode, "idle: connect and stay; echo: also run --tasks echo tasks")
      ->check(CLI::IsMember({"idle", "echo"}));
  app.add_option("--tasks", o.tasks, "echo tasks (echo mode)")->check(CLI::Range(1, 10000000));
  app.add_option("--inflight", o.inflight, "echo tasks in flight (Connect calls at once)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--concurrency", o.concurrency, "task slots each provider announces")
      ->check(CLI::Range(1, 256));
  app.add_option("--threads", o.threads, "io_context threads carrying the fleet")
      ->check(CLI::Range(1, 16));
  app.add_option("--connect-concurrency", o.connect_concurrency,
                 "transport handshakes in progress at once")
      ->check(CLI::Range(1, 100000));
  app.add_option("--hold", o.hold,
                 "seconds to keep the admitted fleet connected and idle (steady-state cost)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--timeout", o.timeout, "overall time bound in seconds; then report and exit 1")
      ->check(CLI::Range(1.0, 86400.0));
  app.add_option("--broker-url", o.broker_url,
                 "use this running Broker (http://host:port) instead of starting one");
  app.add_option("--broker-pid", o.broker_pid,
                 "pid of the --broker-url Broker, for its memory and CPU figures")
      ->check(CLI::Range(1, 1 << 30));
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "wasimoff-bench-fleet: " << e.what() << "\n";
    return 1;
  }
}
