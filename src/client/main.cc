// wasimoff: the command-line client. Uploads WebAssembly modules and ZIP archives, runs single
// tasks from the command line (`exec`) and tasks or jobs from JSON files (`run`), over the
// Broker's Connect API or its client WebSocket (--ws). Reference: docs/cli.md.
//
// Exit status: a single task's own exit status; for jobs 0 when every task succeeded, 1
// otherwise; 2 for command-line errors; 125 when wasimoff itself failed; 126 when the task
// failed with an error instead of exiting (cli/exit_codes.h).
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>

#include "client/cli/commands.h"
#include "client/cli/exit_codes.h"
#include "client/client_error.h"
#include "common/build_info.h"
#include "common/env_config.h"
#include "common/logging.h"

using namespace wasimoff;

namespace {

constexpr const char* kFooter = R"(Environment:
  WASIMOFF_BROKER        default for --broker (otherwise http://localhost:4080)
  WASIMOFF_CLIENT_TOKEN  default for --token

Exit status: a single task's own exit status (statuses above 255 become 255); for a job 0 when
every task exited with 0, 1 otherwise; 2 for command-line errors; 125 when wasimoff failed (broker
unreachable or refusing the request, unusable local file); 126 when the task failed with an error
instead of exiting (trap, unsupported module, timeout). Documentation: docs/cli.md.)";

enum class Command { kNone, kUpload, kExec, kRun };

struct Parsed {
  client::BrokerOptions broker;
  std::string timeout;
  bool verbose = false;
  Command command = Command::kNone;
  cli::UploadOptions upload;
  cli::ExecOptions exec;
  cli::RunOptions run;
};

awaitable<int> dispatch(asio::thread_pool& pool, Parsed p) {
  switch (p.command) {
    case Command::kUpload:
      co_return co_await cli::upload_command(pool, p.broker, p.upload);
    case Command::kExec:
      co_return co_await cli::exec_command(pool, p.broker, p.exec);
    case Command::kRun:
      co_return co_await cli::run_command(pool, p.broker, p.run);
    case Command::kNone:
      break;
  }
  co_return cli::kExitUsage;
}

void print_error(const std::exception& e) {
  std::fflush(stdout);
  std::fprintf(stderr, "wasimoff: %s\n", e.what());
  if (const auto* ce = dynamic_cast<const client::ClientError*>(&e)) {
    std::string hint = ce->hint();
    if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
  }
}

// Options every command accepts (before or after the command name).
void add_connection_options(CLI::App* app, Parsed& p) {
  app->add_option("-b,--broker", p.broker.broker,
                  "Broker address, http(s)://host[:port][/base]; default $WASIMOFF_BROKER or " +
                      std::string(client::kDefaultBroker));
  app->add_option("--token", p.broker.token, "client token; default $WASIMOFF_CLIENT_TOKEN");
  app->add_option("--ca-file", p.broker.ca_file,
                  "CA certificates for an https:// broker (default: the system store)");
  app->add_flag("--insecure", p.broker.insecure,
                "do not verify the broker's TLS certificate (self-signed test setups only)");
  app->add_flag("-v,--verbose", p.verbose, "log what the client does (uploads, connections)");
}

void add_task_options(CLI::App* app, Parsed& p, cli::TaskOptions& t) {
  app->add_option("-o,--out", t.out_dir,
                  "write stdout, stderr, result.json and artifacts/ into this directory instead "
                  "of printing them");
  app->add_flag("--ws", t.websocket,
                "use the client WebSocket instead of the Connect API (jobs: one request per "
                "task, --parallel in flight)");
  app->add_flag("--trace", t.trace, "request a trace and print the task's event timeline");
  app->add_option("--timeout", p.timeout,
                  "give up on the task (job) after this long, e.g. 90s, 5m, 1h30m");
}

void add_upload_command(CLI::App& app, Parsed& p) {
  auto* upload = app.add_subcommand("upload",
                                    "upload modules (.wasm) or ZIP archives; prints "
                                    "one ref per file");
  add_connection_options(upload, p);
  upload->add_option("files", p.upload.files, "files to upload")->required();
  upload->add_option("-n,--name", p.upload.name,
                     "also store it under this name (alias), e.g. hello.wasm; one file only");
  upload->callback([&] { p.command = Command::kUpload; });
}

// Returns the command and its --stdin flag (whose count says whether it was given).
std::pair<CLI::App*, CLI::Option*> add_exec_command(CLI::App& app, Parsed& p) {
  auto* exec = app.add_subcommand(
      "exec", "run one task: wasimoff exec [OPTIONS] <module.wasm | sha256:ref | name> [ARGS...]");
  exec->footer(
      "The module is a local file (uploaded unless the broker has it already; '@path' forces a "
      "file), a sha256: ref or a stored name. Everything after it is passed to the program; its "
      "argv[0] is the module's file name.");
  add_connection_options(exec, p);
  add_task_options(exec, p, p.exec.task);
  exec->add_option("-e,--env", p.exec.envs,
                   "environment entry KEY=value (KEY alone passes our value through); repeatable")
      ->allow_extra_args(false);
  auto* stdin_flag = exec->add_flag(
      "--stdin{-}", p.exec.stdin_source.emplace(),
      "give the task our standard input (--stdin) or a file's content (--stdin=FILE)");
  exec->add_option("--rootfs", p.exec.rootfs,
                   "ZIP archive (local file, ref or name) to unpack as the task's / directory");
  exec->add_option("-a,--artifact", p.exec.artifacts,
                   "file or directory to return after the run (unpacked into --out, or the "
                   "current directory); repeatable")
      ->allow_extra_args(false);
  exec->add_option("--reference", p.exec.reference, "free text echoed in the task's metadata");
  exec->prefix_command();  // everything from the module on belongs to the program
  exec->callback([&] { p.command = Command::kExec; });
  return {exec, stdin_flag};
}

void add_run_command(CLI::App& app, Parsed& p) {
  auto* run = app.add_subcommand("run", "run a task or job file (proto3 JSON)");
  run->footer(
      "A task file is a Task.Wasip1.Request ({\"params\":…}), a job file a "
      "Task.Wasip1.JobRequest ({\"parent\":…,\"tasks\":[…]}). File refs starting with '@' are "
      "local files relative to the task file; they are uploaded first.");
  add_connection_options(run, p);
  add_task_options(run, p, p.run.task);
  run->add_option("file", p.run.file, "the task or job file, '-' for standard input")->required();
  run->add_option("-p,--parallel", p.run.task.parallel,
                  "with --ws: tasks of a job in flight at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run->add_flag("-q,--quiet", p.run.task.quiet, "no progress and no summary line");
  run->callback([&] { p.command = Command::kRun; });
}

// Checks what CLI11 cannot: the module and arguments of exec, --name with one file, --timeout,
// the broker address. Prints the problem and returns false on a usage error.
bool check_usage(Parsed& p, CLI::App& exec, const CLI::Option& stdin_flag) {
  // exec: the first remaining argument is the module, the rest are its arguments.
  if (p.command == Command::kExec) {
    if (stdin_flag.count() == 0) p.exec.stdin_source.reset();
    auto rest = exec.remaining();
    if (rest.empty()) {
      std::fprintf(stderr,
                   "wasimoff exec: which module? Usage: wasimoff exec [OPTIONS] "
                   "<module.wasm | sha256:ref | name> [ARGS...]\n");
      return false;
    }
    if (rest.front().size() > 1 && rest.front()[0] == '-') {
      std::fprintf(stderr,
                   "wasimoff exec: unknown option %s (options go before the module; "
                   "see wasimoff exec --help)\n",
                   rest.front().c_str());
      return false;
    }
    p.exec.module = rest.front();
    p.exec.args.assign(rest.begin() + 1, rest.end());
  }
  if (p.command == Command::kUpload && !p.upload.name.empty() && p.upload.files.size() != 1) {
    std::fprintf(stderr, "wasimoff upload: --name needs exactly one file\n");
    return false;
  }
  if (!p.timeout.empty()) {
    auto d = env::parse_duration(p.timeout);
    if (!d) {
      std::fprintf(stderr, "wasimoff: --timeout \"%s\": %s\n", p.timeout.c_str(),
                   d.error().c_str());
      return false;
    }
    if (d.value().count() > 0) p.broker.task_timeout = d.value();
  }
  try {
    (void)client::parse_broker_address(p.broker.broker);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "wasimoff: %s\n", e.what());
    return false;
  }
  return true;
}

// Runs the parsed command on a one-thread loop; returns the exit status.
int run_command(Parsed p) {
  asio::io_context io(1);
  asio::thread_pool pool(2);
  int status = cli::kExitClientError;
  bool finished = false;
  asio::co_spawn(io, dispatch(pool, std::move(p)), [&](std::exception_ptr error, int rc) {
    finished = true;
    if (!error) {
      status = rc;
      return;
    }
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      print_error(e);
    }
    status = cli::kExitClientError;
  });
  while (!finished && io.run_one() > 0) {
  }
  // Give orderly closes (the WebSocket closing handshake) a moment, but do not wait for timers
  // that only guard against unresponsive peers.
  if (!io.stopped()) io.run_for(std::chrono::milliseconds(250));
  pool.join();
  std::fflush(stdout);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Parsed p;
  if (auto b = env::getenv_value("WASIMOFF_BROKER"); b && !b->empty()) p.broker.broker = *b;
  if (auto t = env::getenv_value("WASIMOFF_CLIENT_TOKEN")) p.broker.token = *t;

  CLI::App app{"wasimoff: run WebAssembly (WASI preview 1) programs on a wasimoff cluster.",
               "wasimoff"};
  app.set_version_flag("--version", "wasimoff " + std::string(build_version()) + " (" +
                                        std::string(build_revision()) + ")");
  app.require_subcommand(1);
  app.footer(kFooter);
  add_connection_options(&app, p);
  add_upload_command(app, p);
  auto [exec, stdin_flag] = add_exec_command(app, p);
  add_run_command(app, p);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : cli::kExitUsage;
  }
  if (!check_usage(p, *exec, *stdin_flag)) return cli::kExitUsage;

  setup_logging("wasimoff", p.verbose);
  if (!p.verbose) spdlog::set_level(spdlog::level::warn);
  return run_command(std::move(p));
}
