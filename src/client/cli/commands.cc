#include "client/cli/commands.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "client/cli/exit_codes.h"
#include "client/cli/task_file.h"
#include "client/cli/task_runner.h"
#include "client/client_error.h"
#include "client/connect_client.h"
#include "client/file_uploader.h"
#include "client/task_socket.h"
#include "common/file_ref.h"

namespace wasimoff::cli {

namespace fs = std::filesystem;
using client::local_error;

namespace {

RunSettings settings_for(const TaskOptions& t) {
  RunSettings s;
  s.out_dir = t.out_dir;
  s.trace = t.trace;
  s.quiet = t.quiet;
  s.parallel = t.parallel;
  s.progress = Progress::mode_for(stderr, t.quiet);
  return s;
}

// Reads standard input ("-") or a file, off the event loop.
awaitable<std::string> read_input(asio::thread_pool& pool, std::string source) {
  auto job = [source]() -> std::string {
    if (source == "-")
      return std::string(std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>());
    std::ifstream in(source, std::ios::binary);
    if (!in) throw local_error("cannot read " + source + ": " + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw local_error("cannot read " + source + ": read error");
    return text;
  };
  co_return co_await offload(pool, std::move(job));
}

// The TaskClient for the chosen transport. The Connect client is always needed for uploads.
awaitable<std::unique_ptr<client::TaskSocket>> open_socket_if(bool websocket,
                                                              const client::BrokerOptions& broker) {
  if (!websocket) co_return nullptr;
  co_return co_await client::TaskSocket::connect(co_await asio::this_coro::executor, broker);
}

}  // namespace

FileArgument classify_file_argument(const std::string& argument) {
  FileArgument out;
  std::string path = argument;
  bool forced = !path.empty() && path[0] == '@';
  if (forced) path = path.substr(1);
  std::error_code ec;
  if (forced || fs::is_regular_file(path, ec)) {
    out.local = path;
    out.display = fs::path(path).filename().string();
    return out;
  }
  if (argument.find('/') != std::string::npos)
    throw local_error("no such file: " + argument +
                      " (a stored module is named by its ref or a name without '/')");
  out.ref = argument;
  out.display = argument;
  return out;
}

std::optional<std::string> environment_entry(const std::string& spec) {
  if (spec.find('=') != std::string::npos) return spec;
  const char* value = std::getenv(spec.c_str());
  if (!value) return std::nullopt;
  return spec + "=" + value;
}

awaitable<int> upload_command(asio::thread_pool& pool, client::BrokerOptions broker,
                              UploadOptions options) {
  auto ex = co_await asio::this_coro::executor;
  client::ConnectClient http(ex, broker);
  client::FileUploader uploader(http, pool);
  for (const auto& file : options.files) {
    std::string ref = co_await uploader.upload(file, options.name);
    std::printf("%s\n", ref.c_str());
    std::fflush(stdout);
  }
  co_return kExitOk;
}

awaitable<int> exec_command(asio::thread_pool& pool, client::BrokerOptions broker,
                            ExecOptions options) {
  auto ex = co_await asio::this_coro::executor;
  client::ConnectClient http(ex, broker);
  client::FileUploader uploader(http, pool);

  v1::Task::Wasip1::Request request;
  if (!options.reference.empty()) request.mutable_info()->set_reference(options.reference);
  auto& params = *request.mutable_params();
  FileArgument module = classify_file_argument(options.module);
  if (!module.local.empty())
    params.mutable_binary()->set_ref(co_await uploader.ensure(module.local, kMediaWasm));
  else
    params.mutable_binary()->set_ref(module.ref);
  params.add_args(module.display);
  for (const auto& a : options.args) params.add_args(a);
  for (const auto& e : options.envs) {
    if (auto entry = environment_entry(e))
      params.add_envs(*entry);
    else
      spdlog::debug("--env {}: not set here, not passed", e);
  }
  if (options.stdin_source) params.set_stdin(co_await read_input(pool, *options.stdin_source));
  if (!options.rootfs.empty()) {
    FileArgument rootfs = classify_file_argument(options.rootfs);
    if (!rootfs.local.empty())
      params.mutable_rootfs()->set_ref(co_await uploader.ensure(rootfs.local, kMediaZip));
    else
      params.mutable_rootfs()->set_ref(rootfs.ref);
  }
  for (const auto& a : options.artifacts) params.add_artifacts(a);

  auto socket = co_await open_socket_if(options.task.websocket, broker);
  client::TaskClient& tasks = socket ? static_cast<client::TaskClient&>(*socket) : http;
  int status =
      co_await run_single_task(tasks, pool, std::move(request), settings_for(options.task));
  if (socket) socket->close();
  co_return status;
}

awaitable<int> run_command(asio::thread_pool& pool, client::BrokerOptions broker,
                           RunOptions options) {
  auto ex = co_await asio::this_coro::executor;
  auto load = [path = options.file] { return load_task_file(path); };
  TaskFile file = co_await offload(pool, std::move(load));

  client::ConnectClient http(ex, broker);
  client::FileUploader uploader(http, pool);
  // Local '@' files: upload (once per path) and refer to them by ref.
  struct Local {
    v1::File* file;
    std::string path;
    std::string_view media;
  };
  std::vector<Local> locals;
  for_each_file(file, [&](v1::File& f, std::string_view role, const std::string& where) {
    std::string path = local_path_of(f, file.base_dir);
    if (path.empty()) return;
    if (!f.blob().empty())
      throw local_error(file.name + ": " + where + " has both a blob and a local file ref");
    locals.push_back({&f, std::move(path), role == "binary" ? kMediaWasm : kMediaZip});
  });
  for (auto& local : locals) local.file->set_ref(co_await uploader.ensure(local.path, local.media));

  auto socket = co_await open_socket_if(options.task.websocket, broker);
  client::TaskClient& tasks = socket ? static_cast<client::TaskClient&>(*socket) : http;
  int status = 0;
  if (file.kind == TaskFile::Kind::kTask) {
    status =
        co_await run_single_task(tasks, pool, std::move(file.task), settings_for(options.task));
  } else {
    JobMode mode = options.task.websocket ? JobMode::kPerTask : JobMode::kOneCall;
    // --timeout bounds the whole job, also when its tasks are submitted one by one.
    if (broker.task_timeout)
      client::set_deadline_within(file.job.mutable_qos(), *broker.task_timeout);
    status = co_await run_job(tasks, pool, std::move(file.job), mode, settings_for(options.task));
  }
  if (socket) socket->close();
  co_return status;
}

}  // namespace wasimoff::cli
