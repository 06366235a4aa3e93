// wasimoff-run: runs one WASI task locally through exactly the native provider's production path
// (pipeline::TaskPipeline: compile cache + one sandboxed worker) and prints the result as JSON.
// Used by people who want to try a module, and by the differential tests against Node's WASI.
//
//   wasimoff-run [--cache <dir>] [--worker <path>] [--cc <compiler>] [-v] <spec.json>
//
// spec.json:
//   {"wasm": "/abs/m.wasm", "args": ["m.wasm", "a"], "env": ["K=V"], "stdin": "<base64>"|null,
//    "rootfs": "/abs/rootfs.zip"|null, "artifacts": ["out.txt"], "timeout_ms": 10000|null,
//    "memory_limit": <bytes>|null}
// stdout: exactly one JSON object
//   {"status": <int>|null, "stdout": "<base64>", "stderr": "<base64>", "error": "<text>"|null,
//    "artifacts": "<base64 zip>"|null}
// (`status` is null when `error` is set.) Exit code 0 whenever that JSON was printed, 2 for a bad
// command line or spec (message on stderr), 1 for anything else.
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "common/async.h"
#include "common/logging.h"
#include "common/strings.h"
#include "provider/pipeline/task_pipeline.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace wasimoff;

struct Spec {
  fs::path wasm;
  std::vector<std::string> args, env, artifacts;
  std::optional<std::string> stdin_data;
  std::optional<fs::path> rootfs;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::uint64_t> memory_limit;
};

class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<std::string> string_list(const json::object& o, const char* key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) throw SpecError(std::string("\"") + key + "\" must be an array of strings");
  for (const json::value& item : v->as_array()) {
    if (!item.is_string())
      throw SpecError(std::string("\"") + key + "\" must be an array of strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

std::optional<std::string> opt_string(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) throw SpecError(std::string("\"") + key + "\" must be a string or null");
  return std::string(v->as_string());
}

std::optional<std::uint64_t> opt_uint(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64() && v->as_int64() > 0) return static_cast<std::uint64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() > 0) return v->as_uint64();
  throw SpecError(std::string("\"") + key + "\" must be a positive integer or null");
}

Spec load_spec(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError("cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) throw SpecError("spec is not valid JSON: " + ec.message());
  if (!root.is_object()) throw SpecError("spec must be a JSON object");
  const json::object& o = root.as_object();
  Spec s;
  auto wasm = opt_string(o, "wasm");
  if (!wasm) throw SpecError("\"wasm\" (path of the module) is required");
  s.wasm = *wasm;
  s.args = string_list(o, "args");
  s.env = string_list(o, "env");
  s.artifacts = string_list(o, "artifacts");
  if (auto in64 = opt_string(o, "stdin")) {
    auto bytes = base64_decode(*in64);
    if (!bytes) throw SpecError("\"stdin\" is not valid base64");
    s.stdin_data = std::move(*bytes);
  }
  if (auto r = opt_string(o, "rootfs")) s.rootfs = fs::path(*r);
  if (auto t = opt_uint(o, "timeout_ms")) s.timeout = std::chrono::milliseconds(*t);
  s.memory_limit = opt_uint(o, "memory_limit");
  return s;
}

json::object to_json(const v1::Task::Wasip1::Response& r) {
  json::object out;
  if (r.has_error()) {
    out["status"] = nullptr;
    out["stdout"] = "";
    out["stderr"] = "";
    out["error"] = r.error();
    out["artifacts"] = nullptr;
    return out;
  }
  const auto& ok = r.ok();
  out["status"] = ok.status();
  out["stdout"] = base64_encode(ok.stdout());
  out["stderr"] = base64_encode(ok.stderr());
  out["error"] = nullptr;
  if (ok.has_artifacts())
    out["artifacts"] = base64_encode(ok.artifacts().blob());
  else
    out["artifacts"] = nullptr;
  return out;
}

// The pipeline's input for the spec: the module and the rootfs are files of this host.
pipeline::TaskInput task_input(const Spec& spec) {
  pipeline::TaskInput input;
  input.binary = pipeline::FileSource::local(spec.wasm);
  if (spec.rootfs) input.rootfs = pipeline::FileSource::local(*spec.rootfs);
  auto& params = input.run.params;
  for (auto& a : spec.args) params.add_args(a);
  for (auto& e : spec.env) params.add_envs(e);
  for (auto& a : spec.artifacts) params.add_artifacts(a);
  if (spec.stdin_data) params.set_stdin(*spec.stdin_data);
  return input;
}

awaitable<v1::Task::Wasip1::Response> run(Spec spec, fs::path cache_dir, std::string worker,
                                          std::string cc, asio::thread_pool& threads) {
  auto ex = co_await asio::this_coro::executor;
  pool::PoolOptions po;
  po.workers = 1;
  if (!worker.empty()) po.worker_path = worker;
  po.timeout = spec.timeout;
  if (spec.memory_limit) po.memory_limit = *spec.memory_limit;
  pool::WorkerPool workers(ex, po);  // starts while we compile

  engine::CompilerOptions co;
  co.cache_dir = cache_dir / "compiled";
  co.cc = cc;
  engine::ModuleCompiler compiler(ex, threads, co);

  pipeline::TaskPipeline tasks(threads, nullptr, compiler, workers);

  v1::Task::Wasip1::Response response;
  try {
    pipeline::TaskInput input = task_input(spec);
    auto outcome = co_await tasks.run(std::move(input));
    if (outcome.ran())
      response = std::move(outcome.response);
    else
      response.set_error(outcome.error);
  } catch (const std::exception& e) {
    response.set_error(e.what());
  }
  co_await workers.shutdown();
  co_return response;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs one WASI task through the native provider's engine and prints JSON."};
  std::string spec_path, cache, worker, cc = "cc";
  bool verbose = false;
  app.add_option("spec", spec_path, "task spec (JSON)")->required();
  app.add_option("--cache", cache, "compile cache directory (default: a temporary one)");
  app.add_option("--worker", worker, "wasimoff-worker executable (default: next to this one)");
  app.add_option("--cc", cc, "C compiler for the AOT compilation");
  app.add_flag("-v,--verbose", verbose, "log to stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  setup_logging("wasimoff-run", verbose);
  if (!verbose) spdlog::set_level(spdlog::level::err);

  Spec spec;
  try {
    spec = load_spec(spec_path);
  } catch (const SpecError& e) {
    std::cerr << "wasimoff-run: " << e.what() << "\n";
    return 2;
  }

  fs::path cache_dir = cache;
  bool temporary = cache.empty();
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "wasimoff-run-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::cerr << "wasimoff-run: cannot create a temporary directory\n";
      return 1;
    }
    cache_dir = tmpl;
  }

  int rc = 1;
  {
    asio::io_context ioc;
    asio::thread_pool threads(2);
    std::optional<v1::Task::Wasip1::Response> result;
    asio::co_spawn(ioc, run(std::move(spec), cache_dir, worker, cc, threads),
                   [&](std::exception_ptr e, v1::Task::Wasip1::Response r) {
                     if (!e) result = std::move(r);
                   });
    ioc.run();
    threads.join();
    if (result) {
      std::cout << json::serialize(to_json(*result)) << "\n";
      rc = 0;
    } else {
      std::cerr << "wasimoff-run: internal error\n";
    }
  }
  if (temporary) {
    std::error_code ec;
    fs::remove_all(cache_dir, ec);
  }
  return rc;
}
