// wasimoff-broker: configured only through WASIMOFF_* environment variables (and .env /
// config.env); see `wasimoff-broker --help` and docs/configuration.md.
//
// Exit status: 0 after --help/--version or a graceful shutdown, 1 for runtime failures (e.g. a
// port in use), 2 for configuration errors and unknown arguments.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "broker/broker_app.h"
#include "broker/config/broker_config.h"
#include "common/build_info.h"
#include "common/logging.h"

extern char** environ;

namespace {

using namespace wasimoff;

std::vector<std::string> environment_names() {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    names.emplace_back(kv.substr(0, kv.find('=')));
  }
  return names;
}

// Every WebSocket provider, client WebSocket and HTTP connection holds a file descriptor; the
// common soft limit of 1024 would stop a Broker at about a thousand providers (accept() fails
// with EMFILE). Raise the soft limit to the hard limit, and warn when even that is low
// (docs/configuration.md "File descriptors").
void raise_open_file_limit() {
  constexpr rlim_t kWanted = 10000 + 1024;  // the TCP listener's connection cap + headroom
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    spdlog::warn("cannot read the open file limit (RLIMIT_NOFILE): {}", std::strerror(errno));
    return;
  }
  const rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
    else
      spdlog::warn("cannot raise the open file limit from {} to {}: {}", rl.rlim_cur, rl.rlim_max,
                   std::strerror(errno));
  }
  auto show = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  spdlog::info("open file limit (RLIMIT_NOFILE): {} (was {}, hard limit {})", show(rl.rlim_cur),
               show(before), show(rl.rlim_max));
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < kWanted)
    spdlog::warn(
        "open file limit {} is low: each WebSocket provider or client and each HTTP connection "
        "needs a descriptor, so the Broker serves at most about {} of them at once (the TCP "
        "listener alone accepts up to 10000 connections); raise the hard limit (systemd: "
        "LimitNOFILE=, shell: ulimit -Hn) — see docs/configuration.md",
        rl.rlim_cur, rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0);
}

int run() {
  broker::LoadedConfig loaded;
  try {
    broker::load_broker_env_files();
    loaded = broker::load_broker_config(
        [](std::string_view name) -> std::optional<std::string> {
          const char* v = std::getenv(std::string(name).c_str());
          if (!v) return std::nullopt;
          return std::string(v);
        },
        environment_names());
  } catch (const broker::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  setup_logging("wasimoff-broker", loaded.config.debug);

  asio::io_context io(1);
  std::unique_ptr<broker::BrokerApp> app;
  try {
    app = std::make_unique<broker::BrokerApp>(io, loaded.config);
  } catch (const broker::ConfigError& e) {
    // Opening the storage is still configuration checking: the error must be the only line
    // on stderr (docs/configuration.md §6), so the warnings below are logged only after this.
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("startup failed: {}", e.what());
    return 1;
  }
  if (loaded.config.debug) spdlog::debug("pid {}", getpid());
  // After the configuration checks (a configuration error is the only line on stderr), before
  // any listener opens.
  raise_open_file_limit();
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w);
  // Installed before the listeners open: a SIGHUP/SIGTERM sent as soon as the broker answers
  // (or logs "ready") must be handled, not take the default action (terminate).
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      app->reload_certificates();
    } else if (stopping) {
      spdlog::warn("second signal: exiting immediately");
      std::_Exit(1);
    } else {
      stopping = true;
      asio::co_spawn(io, app->shutdown(), [&](std::exception_ptr) { io.stop(); });
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  try {
    app->start();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << broker::broker_help_text();
      return 0;
    }
    if (arg == "--version") {
      std::cout << "wasimoff-broker " << build_version() << " (" << build_revision() << ")\n";
      return 0;
    }
    std::cerr << "wasimoff-broker: unknown argument '" << arg << "'\n"
              << "usage: wasimoff-broker [-h|--help] [--version]\n"
              << "The broker is configured through WASIMOFF_* environment variables; see --help.\n";
    return 2;
  }
  return run();
}
