// wasimoff-provider: the native provider (docs/provider-internals.md §3). Connects to a Broker,
// runs WASI tasks compiled ahead of time with wasm2c in sandboxed worker processes.
//
// Exit status: 0 after a graceful stop, 1 on connection failure with --no-retry, 2 on bad
// arguments.
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/build_info.h"
#include "common/env_config.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/strings.h"
#include "contract/contract.h"
#include "net/http/client.h"
#include "provider/link/broker_link.h"
#include "provider/wasi/signatures.h"

namespace fs = std::filesystem;
using namespace wasimoff;

namespace {

std::string default_storage_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/wasimoff";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/wasimoff";
  return "/tmp/wasimoff-provider";
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !*buf) return "provider";
  return buf;
}

std::string user_agent() {
  utsname u{};
  uname(&u);
  return "wasimoff-provider/" + std::string(build_version()) + " (linux; " + u.machine +
         "; wasm2c)";
}

struct Options {
  provider::LinkOptions link;
  std::size_t workers = 0;
  std::string storage = default_storage_dir();
  std::string cache_size = "2GiB";
  std::string memory_limit = "1GiB";
  std::string timeout;
  std::string cc = "cc";
  std::string sandbox = "bwrap";
  std::string sandbox_user = "nobody";
  bool verbose = false;
};

// A private base for the compilers' scratch directories that the sandbox user can reach (bwrap
// binds them from the host as that user, so every directory on the path must be traversable):
// /var/tmp/wasimoff-provider-<hash of the storage directory>, mode 0711. Left-overs of a crashed
// run with the same storage are removed at start; the directory is removed at exit.
struct ScratchBase {
  fs::path path;
  explicit ScratchBase(const fs::path& storage) {
    fs::path root = fs::exists("/var/tmp") ? fs::path("/var/tmp") : fs::temp_directory_path();
    std::string key = sha256_hex(fs::absolute(storage).lexically_normal().string()).substr(0, 16);
    path = root / ("wasimoff-provider-" + key);
    std::error_code ec;
    if (fs::is_symlink(path, ec) || (fs::exists(path, ec) && !fs::is_directory(path, ec)))
      throw std::runtime_error(path.string() + " exists and is not our directory");
    fs::remove_all(path, ec);
    if (!fs::create_directory(path, ec) || ec)
      throw std::runtime_error("cannot create " + path.string() + ": " + ec.message());
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  ~ScratchBase() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The provider's settings once the command line has been checked.
struct Settings {
  Options o;
  std::uint64_t cache_size = 0;
  std::uint64_t memory_limit = 0;
  std::optional<std::chrono::milliseconds> timeout;
};

void add_options(CLI::App& app, Options& o, bool& no_retry) {
  app.add_option("--broker", o.link.broker, "Broker HTTP origin (storage, discovery, WebSocket)")
      ->capture_default_str();
  app.add_option("--transport", o.link.transport, "auto | webtransport | websocket")
      ->check(CLI::IsMember({"auto", "webtransport", "websocket"}))
      ->capture_default_str();
  app.add_option("--workers", o.workers,
                 "concurrency announced to the Broker (default: online CPUs)");
  app.add_option("--name", o.link.name, "provider name (default: hostname)")->capture_default_str();
  app.add_option("--token", o.link.token,
                 "provider token (WASIMOFF_PROVIDER_TOKEN of the Broker); prefer the environment "
                 "variable: a command line is visible to every user of the host")
      ->envname("WASIMOFF_PROVIDER_TOKEN");
  app.add_option("--storage", o.storage, "file and compiled-module cache directory")
      ->capture_default_str();
  app.add_option("--cache-size", o.cache_size, "LRU cap of the file cache")->capture_default_str();
  app.add_option("--memory-limit", o.memory_limit, "linear-memory limit per task")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout,
                 "wall-clock limit per task, e.g. 90s or 5m (default: none)");
  app.add_option("--cc", o.cc, "C compiler for the ahead-of-time compilation")
      ->capture_default_str();
  app.add_option("--sandbox", o.sandbox,
                 "bwrap: compile modules inside bubblewrap (no network, no host files but /usr); "
                 "none: without it (unsafe, for hosts without user namespaces)")
      ->check(CLI::IsMember({"bwrap", "none"}))
      ->capture_default_str();
  app.add_option("--sandbox-user", o.sandbox_user,
                 "when started as root: the unprivileged user compilers and workers run as")
      ->capture_default_str();
  app.add_option("--ca-file", o.link.ca_file,
                 "CA certificates for an https:// Broker (default: system store)");
  app.add_flag("--insecure", o.link.insecure,
               "do not verify the Broker's TLS certificate (testing only)");
  app.add_flag("--no-retry", no_retry,
               "exit 1 when the Broker cannot be reached or the connection drops");
  app.add_flag("-v,--verbose", o.verbose, "debug logging");
  app.set_version_flag("--version", "wasimoff-provider " + std::string(build_version()) + " (" +
                                        std::string(build_revision()) + ")");
}

// Parses and checks the command line into `s`; an exit status when the program should stop
// (--help, --version, bad arguments).
std::optional<int> parse_options(int argc, char** argv, Settings& s) {
  Options& o = s.o;
  o.link.name = hostname();
  CLI::App app{
      "wasimoff-provider: runs WebAssembly (WASI preview 1) tasks for a wasimoff Broker.\n"
      "Modules are compiled ahead of time with wasm2c and run in sandboxed worker processes."};
  bool no_retry = false;
  add_options(app, o, no_retry);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.link.retry = !no_retry;
  o.link.user_agent = user_agent();
  auto fail_arg = [](const std::string& option, const std::string& reason) {
    std::cerr << "wasimoff-provider: " << option << ": " << reason << "\n";
    return 2;
  };
  auto cache_size = env::parse_size(o.cache_size);
  if (!cache_size.ok()) return fail_arg("--cache-size", cache_size.error());
  s.cache_size = cache_size.value();
  auto memory_limit = env::parse_size(o.memory_limit, 64 << 10);
  if (!memory_limit.ok()) return fail_arg("--memory-limit", memory_limit.error());
  s.memory_limit = memory_limit.value();
  if (!o.timeout.empty()) {
    auto t = env::parse_duration(o.timeout);
    if (!t.ok()) return fail_arg("--timeout", t.error());
    if (t.value().count() > 0) s.timeout = t.value();
  }
  if (!http::Url::parse(o.link.broker))
    return fail_arg("--broker", "not an http(s) URL: " + o.link.broker);
  if (o.workers == 0) o.workers = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  o.link.name = truncate_utf8(o.link.name, 128);
  return std::nullopt;
}

// The compiler sandbox of --sandbox / --sandbox-user (throws when it cannot be set up).
std::shared_ptr<const engine::ProcessSandbox> make_sandbox(const Options& o) {
  engine::SandboxOptions so;
  so.mode = o.sandbox == "none" ? engine::SandboxOptions::Mode::kNone
                                : engine::SandboxOptions::Mode::kBubblewrap;
  so.user = o.sandbox_user;
  auto sandbox = std::make_shared<engine::ProcessSandbox>(so);
  if (!sandbox->enabled())
    spdlog::warn(
        "--sandbox none: modules are compiled without a sandbox, as this user; use it only on "
        "hosts without user namespaces");
  else if (geteuid() != 0 && !sandbox->credentials())
    spdlog::debug("sandbox: running as ourselves (not root), no user switch needed");
  return sandbox;
}

// Downloads a ref from the Broker's storage for the file cache.
cache::FileCache::Fetcher broker_fetcher(asio::any_io_executor ex, const provider::LinkOptions& l) {
  http::ClientOptions fetch_options;
  fetch_options.ca_file = l.ca_file;
  fetch_options.insecure = l.insecure;
  fetch_options.user_agent = l.user_agent;
  return [ex, broker = l.broker, token = l.token,
          fetch_options](std::string ref) -> awaitable<std::string> {
    http::Headers headers;
    if (!token.empty()) headers.set("Authorization", "Bearer " + token);
    auto res =
        co_await http::fetch(ex, "GET", broker + std::string(contract::paths::kStorage) + ref,
                             headers, {}, fetch_options);
    if (res.status != 200)
      throw std::runtime_error("HTTP " + std::to_string(res.status) + " " +
                               std::string(trim(res.body)));
    if (auto served = res.headers.get("x-wasimoff-ref"); served && *served != ref)
      throw std::runtime_error("broker served " + std::string(*served) + " for " + ref);
    co_return std::move(res.body);
  };
}

engine::CompilerOptions compiler_options(const Settings& s,
                                         std::shared_ptr<const engine::ProcessSandbox> sandbox,
                                         const std::optional<ScratchBase>& scratch) {
  engine::CompilerOptions co;
  co.cache_dir = fs::path(s.o.storage) / "compiled";
  co.cc = s.o.cc;
  co.sandbox = std::move(sandbox);
  if (scratch) co.scratch_dir = scratch->path;
  return co;
}

pool::PoolOptions pool_options(const Settings& s,
                               std::shared_ptr<const engine::ProcessSandbox> sandbox) {
  pool::PoolOptions po;
  po.worker_path = pool::default_worker_path();
  po.workers = s.o.workers;
  po.memory_limit = s.memory_limit;
  po.timeout = s.timeout;
  po.sandbox = std::move(sandbox);
  return po;
}

// Runs the provider until the link ends (or a signal stops it); the exit status.
int run_provider(const Settings& s, std::shared_ptr<const engine::ProcessSandbox> sandbox,
                 const std::optional<ScratchBase>& scratch) {
  const Options& o = s.o;
  asio::io_context io(1);
  asio::thread_pool threads(2);
  auto link_options = o.link;
  link_options.wasi_modules.assign(wasi::kImportModules.begin(), wasi::kImportModules.end());
  link_options.memory_limit = s.memory_limit;
  auto ex = io.get_executor();
  cache::FileCache files(ex, threads,
                         cache::FileCacheOptions{fs::path(o.storage) / "files", s.cache_size},
                         broker_fetcher(ex, o.link));
  engine::ModuleCompiler compiler(ex, threads, compiler_options(s, sandbox, scratch));
  pool::WorkerPool workers(ex, pool_options(s, sandbox));
  pipeline::TaskPipeline tasks(threads, &files, compiler, workers);
  provider::TaskHandler handler(ex, files, tasks);
  provider::BrokerLink link(ex, link_options, handler, workers);
  files.on_change(
      [&](const std::vector<std::string>& added, const std::vector<std::string>& removed) {
        // An evicted module's compiled form goes with it.
        for (const auto& ref : removed)
          spawn_logged(ex, compiler.forget(ref), "forget compiled module");
        link.files_changed(added, removed);
      });

  int exit_code = 0;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& e, int) {
        if (e) return;
        link.stop();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        // A sandbox that cannot start is a configuration problem: say so now, not per task.
        co_await sandbox->probe();
        co_await files.open();
        spdlog::info("wasimoff-provider {} ({}): {} workers, cache {} ({} files), sandbox {}",
                     build_version(), build_revision(), o.workers, o.storage, files.refs().size(),
                     sandbox->describe());
        exit_code = co_await link.run();
        co_await workers.shutdown();
        signals.cancel();
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::critical("{}", ex.what());
          }
          exit_code = 1;
        }
        io.stop();
      });
  io.run();
  threads.join();
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  if (auto stop = parse_options(argc, argv, s)) return *stop;
  const Options& o = s.o;
  setup_logging("wasimoff-provider", o.verbose);
  std::shared_ptr<const engine::ProcessSandbox> sandbox;
  try {
    sandbox = make_sandbox(o);
  } catch (const std::exception& e) {
    std::cerr << "wasimoff-provider: --sandbox: " << e.what() << "\n";
    return 2;
  }
  std::optional<ScratchBase> scratch;
  if (sandbox->credentials()) {
    try {
      scratch.emplace(o.storage);
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }
  std::error_code ec;
  fs::create_directories(o.storage, ec);
  if (ec) {
    spdlog::critical("cannot create storage directory {}: {}", o.storage, ec.message());
    return 1;
  }
  return run_provider(s, std::move(sandbox), scratch);
}
