// wasimoff-bench-compile: what the native provider's ahead-of-time compilation costs.
//
// For each module (the examples and two generated C programs compiled with clang-14), in
// alternating rounds and each time into an empty cache:
//   * admission alone (in-process: checks and the canonical rewrite),
//   * the whole pipeline without a sandbox (wasm-validate, wasm2c, cc -O2, inspection),
//   * the whole pipeline in the bubblewrap sandbox as the provider runs it (as root: as nobody).
// Figures: code size, the median times, seconds per MiB of code (what the compile budget is sized
// for) and the sandbox's cost (ratio sandboxed ÷ direct). Exit status 1 when a compile fails.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "common/file_ref.h"
#include "common/logging.h"
#include "common/strings.h"
#include "provider/engine/module_admission.h"
#include "provider/engine/module_compiler.h"

namespace {

using namespace wasimoff;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct TempDir {
  fs::path path;
  explicit TempDir(const fs::path& base) {
    std::string tmpl = (base / "wasimoff-bench-compile-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
    chmod(path.c_str(), 0711);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Compiles `wasm` once into an empty cache; returns the wall time in seconds.
double compile_once(const fs::path& wasm, std::shared_ptr<const engine::ProcessSandbox> sandbox) {
  TempDir cache(fs::temp_directory_path());
  TempDir scratch("/var/tmp");
  boost::asio::io_context io;
  boost::asio::thread_pool threads(2);
  engine::CompilerOptions o;
  o.cache_dir = cache.path;
  o.scratch_dir = scratch.path;
  o.sandbox = std::move(sandbox);
  o.max_budget = std::chrono::hours(1);
  o.budget_per_mib = std::chrono::hours(1);
  engine::ModuleCompiler compiler(io.get_executor(), threads, o);
  std::exception_ptr error;
  auto started = Clock::now();
  boost::asio::co_spawn(io, compiler.compile(make_ref(read_file(wasm)), wasm),
                        [&](std::exception_ptr e, engine::CompiledModule) { error = e; });
  io.run();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  threads.join();
  if (error) std::rethrow_exception(error);
  return seconds;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wasimoff-bench-compile: the native provider's ahead-of-time compilation"};
  int rounds = 3;
  bool no_sandbox = false;
  app.add_option("--rounds", rounds, "alternating rounds per module")->capture_default_str();
  app.add_flag("--no-sandbox", no_sandbox, "measure only the direct pipeline");
  CLI11_PARSE(app, argc, argv);
  setup_logging("wasimoff-bench-compile", false);
  spdlog::set_level(spdlog::level::warn);

  std::vector<fs::path> modules;
  for (const char* name : {"hello.wasm", "tsp.wasm", "wasi-selftest.wasm"})
    if (fs::exists(fs::path(WASIMOFF_BENCH_EXAMPLES) / name))
      modules.push_back(fs::path(WASIMOFF_BENCH_EXAMPLES) / name);
  for (std::string_view p : split(WASIMOFF_BENCH_GENERATED, ','))
    if (!p.empty()) modules.emplace_back(std::string(p));

  auto none = std::make_shared<engine::ProcessSandbox>(
      engine::SandboxOptions{engine::SandboxOptions::Mode::kNone});
  std::shared_ptr<const engine::ProcessSandbox> bwrap;
  if (!no_sandbox) {
    try {
      bwrap = std::make_shared<engine::ProcessSandbox>(engine::SandboxOptions{});
    } catch (const std::exception& e) {
      std::cerr << "no sandbox measurements: " << e.what() << "\n";
    }
  }
  std::cout << fmt::format("{} rounds; sandbox: {}\n\n", rounds,
                           bwrap ? bwrap->describe() : std::string("not measured"));
  std::cout << "| module | code | admission | compile direct | s per MiB of code | compile "
               "sandboxed | sandboxed ÷ direct |\n|---|---|---|---|---|---|---|\n";
  int status = 0;
  for (const fs::path& m : modules) {
    try {
      std::string bytes = read_file(m);
      std::vector<double> admission, direct, sandboxed;
      engine::AdmittedModule admitted;
      for (int r = 0; r < rounds; ++r) {
        auto t0 = Clock::now();
        admitted = engine::admit_module(bytes);
        admission.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        direct.push_back(compile_once(m, none));
        if (bwrap) sandboxed.push_back(compile_once(m, bwrap));
      }
      double mib = static_cast<double>(admitted.code_bytes) / (1 << 20);
      std::cout << fmt::format(
          "| {} | {} | {:.2f} ms | {:.2f} s | {:.0f} | {} | {} |\n", m.filename().string(),
          format_bytes(admitted.code_bytes), median(admission) * 1000, median(direct),
          median(direct) / mib, bwrap ? fmt::format("{:.2f} s", median(sandboxed)) : "–",
          bwrap ? fmt::format("{:.2f}", median(sandboxed) / median(direct)) : "–");
    } catch (const std::exception& e) {
      std::cout << fmt::format("| {} | failed: {} |\n", m.filename().string(), e.what());
      status = 1;
    }
  }
  return status;
}
