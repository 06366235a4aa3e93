// The CLI's commands (docs/cli.md): `upload`, `exec` and `run`. Each is a coroutine on the
// process's event loop that returns the exit status; failures of wasimoff itself are thrown as
// client::ClientError (main prints the message and its hint and exits with kExitClientError).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <string>
#include <vector>

#include "client/broker_options.h"
#include "common/async.h"

namespace wasimoff::cli {

struct UploadOptions {
  std::vector<std::string> files;
  std::string name;  // alias; only with exactly one file
};

// Uploads each file and prints its ref, one line per file in argument order.
awaitable<int> upload_command(asio::thread_pool& pool, client::BrokerOptions broker,
                              UploadOptions options);

// Options shared by exec and run.
struct TaskOptions {
  bool websocket = false;     // --ws: the client WebSocket instead of Connect
  bool trace = false;         // --trace
  bool quiet = false;         // -q
  std::string out_dir;        // --out
  std::size_t parallel = 64;  // --parallel (run --ws)
};

struct ExecOptions {
  std::string module;                       // local file, sha256 ref or alias
  std::vector<std::string> args;            // argv[1…]
  std::vector<std::string> envs;            // KEY=value, or KEY to pass our value of KEY through
  std::optional<std::string> stdin_source;  // "-" = our stdin, otherwise a file
  std::string rootfs;                       // local ZIP, ref or alias
  std::vector<std::string> artifacts;
  std::string reference;  // info.reference
  TaskOptions task;
};

// Runs one task built from the command line; returns its exit status (exit_codes.h).
awaitable<int> exec_command(asio::thread_pool& pool, client::BrokerOptions broker,
                            ExecOptions options);

struct RunOptions {
  std::string file;  // task or job JSON ("-" = stdin)
  TaskOptions task;
};

// Runs the task or job of a task file; returns the exit status (exit_codes.h).
awaitable<int> run_command(asio::thread_pool& pool, client::BrokerOptions broker,
                           RunOptions options);

// How exec names a module or archive: a local file to upload (`local` set, `display` = its
// file name), or a ref/alias for the Broker to resolve. A leading '@' forces a local file;
// otherwise an existing regular file wins over an alias of the same name; an argument with a
// '/' that names no file is an error (aliases cannot contain '/').
struct FileArgument {
  std::string local;    // path of a local file, or ""
  std::string ref;      // ref or alias when not local
  std::string display;  // argv[0] for modules
};
FileArgument classify_file_argument(const std::string& argument);

// "KEY=value" stays; "KEY" becomes "KEY=<value in our environment>" or nullopt when unset.
std::optional<std::string> environment_entry(const std::string& spec);

}  // namespace wasimoff::cli
