// engine::ModuleCompiler's public API, single flight and the order of the pipeline's steps
// (engine/compiler_state.h); the tools are in compiler_toolchain.cc, the cache directory in
// compiled_cache.cc.
#include "provider/engine/module_compiler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/system/system_error.hpp>
#include <cmath>
#include <thread>

#include "common/file_ref.h"
#include "common/strings.h"
#include "provider/engine/compiler_state.h"

namespace wasimoff::engine {

namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;
using namespace detail;
using steady = std::chrono::steady_clock;

awaitable<CompiledModule> ModuleCompiler::State::pipeline(std::shared_ptr<Flight> flight,
                                                          std::string ref, fs::path wasm,
                                                          fs::path target) {
  auto self = shared_from_this();
  // Cached on disk by an earlier process? It is inspected again before anybody loads it.
  auto probe_job = [target] { return probe_cached(target); };
  std::optional<std::string> cached = co_await offload(pool, std::move(probe_job));
  if (cached && cached->empty()) co_return CompiledModule{ref, target, true};
  if (cached) spdlog::warn("cached compiled module {} removed: {}", ref, *cached);

  ++compilations;
  AdmittedModule admitted = co_await admit(wasm);
  Build b;
  b.flight = flight;
  b.ref = ref;
  b.budget = compile_budget(options, admitted.code_bytes);
  b.large = admitted.code_bytes >= options.large_code_bytes;
  b.code_bytes = admitted.code_bytes;
  // The tools' outputs are bounded: C source is at most ~6 bytes per byte of data or code.
  b.file_size = (64ull << 20) + 32 * admitted.wasm_bytes;
  AsyncSemaphore::Permit permit = co_await acquire_lane(b);

  auto started = steady::now();
  b.deadline = started + b.budget;
  auto mkdir_job = [this] { return make_scratch(); };
  b.dir = co_await offload(pool, std::move(mkdir_job));
  std::exception_ptr failure;
  try {
    co_await build(b, wasm, target);
  } catch (...) {
    failure = std::current_exception();
  }
  auto cleanup_job = [dir = b.dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  co_await offload(pool, std::move(cleanup_job));
  if (failure) std::rethrow_exception(failure);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
  spdlog::info("compiled {} ({} of code) in {} ms", ref, format_bytes(admitted.code_bytes),
               ms.count());
  co_return CompiledModule{ref, target, false};
}

// 1. Admission, before any process starts. Here only to learn the lane and the budget: the
//    canonical module is made again once a slot is ours, so waiting compiles hold no copy.
awaitable<AdmittedModule> ModuleCompiler::State::admit(fs::path wasm) {
  AdmissionLimits limits = options.admission;
  auto admit_job = [wasm, limits] {
    AdmittedModule a = admit_module(read_file(wasm, limits.max_module_bytes), limits);
    a.wasm_bytes = a.wasm.size();
    a.wasm = std::string();
    return a;
  };
  try {
    co_return co_await offload(pool, std::move(admit_job));
  } catch (const ModuleRejected& e) {
    throw UnsupportedModule(e.what());
  }
}

awaitable<AsyncSemaphore::Permit> ModuleCompiler::State::acquire_lane(const Build& b) {
  AsyncSemaphore& lane = b.large ? large_slots : small_slots;
  if (lane.waiting() >= options.max_waiting)
    throw std::runtime_error(
        fmt::format("provider busy: {} modules are waiting to compile", lane.waiting()));
  auto slot = co_await (lane.acquire() || b.flight->abandoned.wait());
  if (slot.index() == 1) throw Abandoned{};
  co_return std::move(std::get<0>(slot));
}

awaitable<void> ModuleCompiler::State::build(const Build& b, fs::path wasm, fs::path target) {
  AdmissionLimits limits = options.admission;
  auto write_job = [dir = b.dir, wasm, limits] {
    AdmittedModule a = admit_module(read_file(wasm, limits.max_module_bytes), limits);
    write_file(dir / "module.wasm", a.wasm);
    write_file(dir / "glue.c", glue_source(a));
  };
  co_await offload(pool, std::move(write_job));
  co_await validate(b);
  co_await translate(b);
  co_await compile_c(b);
  // 6. Inspect, take ownership (the sandbox user must not be able to change what workers load),
  // install.
  std::uint64_t max_object = std::min<std::uint64_t>(kMaxObjectBytes, b.file_size);
  auto install_job = [dir = b.dir, target, max_object] { install_object(dir, target, max_object); };
  co_await offload(pool, std::move(install_job));
}

awaitable<void> ModuleCompiler::State::fly(std::shared_ptr<Flight> flight, std::string name,
                                           std::string ref, fs::path wasm) {
  auto self = shared_from_this();
  fs::path target = options.cache_dir / name;
  try {
    flight->result = co_await pipeline(flight, ref, wasm, target);
    ready[name] = target;
  } catch (const Abandoned&) {
    ++abandoned_count;
    spdlog::info("stopped compiling {}: no task waits for it any more", ref);
    flight->error =
        std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted));
  } catch (const UnsupportedModule& e) {
    remember_failure(name, std::current_exception());
    spdlog::warn("cannot compile {}: {}", ref, e.what());
    flight->error = std::current_exception();
  } catch (...) {
    flight->error = std::current_exception();
  }
  forget_flight(name, flight);
  flight->done.set();
}

void ModuleCompiler::State::remember_failure(const std::string& name, std::exception_ptr error) {
  static constexpr std::size_t kMaxFailures = 4096;
  if (failures.size() >= kMaxFailures) {
    auto now = steady::now();
    for (auto it = failures.begin(); it != failures.end();)
      it = it->second.expires <= now ? failures.erase(it) : std::next(it);
    if (failures.size() >= kMaxFailures) {
      auto soonest = std::min_element(failures.begin(), failures.end(), [](auto& a, auto& b) {
        return a.second.expires < b.second.expires;
      });
      failures.erase(soonest);
    }
  }
  failures[name] = {std::move(error), steady::now() + options.failure_ttl};
}

void ModuleCompiler::State::forget_flight(const std::string& name,
                                          const std::shared_ptr<Flight>& flight) {
  if (auto it = flights.find(name); it != flights.end() && it->second == flight) flights.erase(it);
}
std::chrono::seconds compile_budget(const CompilerOptions& o, std::uint64_t code_bytes) {
  double mib = static_cast<double>(code_bytes) / (1 << 20);
  auto extra =
      static_cast<std::int64_t>(std::ceil(static_cast<double>(o.budget_per_mib.count()) * mib));
  return std::min(o.max_budget, o.budget_base + std::chrono::seconds(extra));
}

ModuleCompiler::ModuleCompiler(asio::any_io_executor ex, asio::thread_pool& pool,
                               CompilerOptions options) {
  // The tools run inside a scratch directory (their working directory), so every path handed to
  // the pipeline must be absolute: `wasimoff-provider --storage run/cache` gives a relative one.
  options.cache_dir = std::filesystem::absolute(options.cache_dir);
  if (!options.scratch_dir.empty())
    options.scratch_dir = std::filesystem::absolute(options.scratch_dir);
  if (options.max_parallel == 0) {
    unsigned cpus = std::thread::hardware_concurrency();
    options.max_parallel = std::max(1u, cpus / 2);
  }
  options.max_parallel_large = std::max<std::size_t>(1, options.max_parallel_large);
  // Left-overs of a run that crashed: scratch directories and half-written objects older than
  // any compile can take (another compiler may share the directory and be busy right now).
  remove_leftovers(options);
  if (!options.sandbox)
    options.sandbox = std::make_shared<ProcessSandbox>(SandboxOptions{SandboxOptions::Mode::kNone});
  state_ = std::make_shared<State>(std::move(ex), pool, std::move(options));
}

ModuleCompiler::~ModuleCompiler() = default;

std::optional<CompiledModule> ModuleCompiler::compiled(const std::string& ref) const {
  if (state_->identity.empty()) return std::nullopt;
  std::optional<std::string> canonical = normalize_ref(ref);
  if (!canonical) return std::nullopt;
  auto it = state_->ready.find(state_->file_name(*canonical));
  if (it == state_->ready.end()) return std::nullopt;
  return CompiledModule{*canonical, it->second, true};
}

awaitable<CompiledModule> ModuleCompiler::compile(std::string ref, fs::path wasm_path) {
  std::shared_ptr<State> s = state_;
  std::optional<std::string> canonical = normalize_ref(ref);
  if (!canonical) throw std::invalid_argument("ModuleCompiler::compile: not a sha256 ref: " + ref);
  co_await s->ensure_identity();
  std::string name = s->file_name(*canonical);
  if (auto it = s->ready.find(name); it != s->ready.end())
    co_return CompiledModule{*canonical, it->second, true};
  if (auto it = s->failures.find(name); it != s->failures.end()) {
    if (steady::now() < it->second.expires) std::rethrow_exception(it->second.error);
    s->failures.erase(it);
  }
  std::shared_ptr<State::Flight> flight;
  if (auto it = s->flights.find(name); it != s->flights.end()) {
    flight = it->second;
  } else {
    flight = std::make_shared<State::Flight>(s->ex);
    s->flights[name] = flight;
    spawn_logged(s->ex, s->fly(flight, name, *canonical, std::move(wasm_path)), "module compile");
  }
  // The last waiter to leave before the result is there stops the compilation; a later request
  // starts a new one.
  struct Waiting {
    State& s;
    const std::string& name;
    std::shared_ptr<State::Flight> flight;
    ~Waiting() {
      if (--flight->waiters == 0 && !flight->done.is_set()) {
        flight->abandoned.set();
        s.forget_flight(name, flight);
      }
    }
  } waiting{*s, name, flight};
  ++flight->waiters;
  co_await flight->done.wait();
  if (!flight->done.is_set()) throw boost::system::system_error(asio::error::operation_aborted);
  if (flight->error) std::rethrow_exception(flight->error);
  CompiledModule m = *flight->result;
  co_return m;
}

awaitable<void> ModuleCompiler::forget(std::string ref) {
  std::shared_ptr<State> s = state_;
  std::optional<std::string> canonical = normalize_ref(ref);
  if (!canonical) co_return;
  std::string hex = canonical->substr(kRefPrefix.size());
  for (auto it = s->failures.begin(); it != s->failures.end();)
    it = it->first.rfind(hex, 0) == 0 ? s->failures.erase(it) : std::next(it);
  for (auto it = s->ready.begin(); it != s->ready.end();)
    it = it->first.rfind(hex, 0) == 0 ? s->ready.erase(it) : std::next(it);
  fs::path dir = s->options.cache_dir;
  auto remove_job = [dir, hex] { remove_compiled(dir, hex); };
  co_await offload(s->pool, std::move(remove_job));
}

std::uint64_t ModuleCompiler::compilations() const {
  return state_->compilations;
}

std::size_t ModuleCompiler::in_flight() const {
  return state_->flights.size();
}

std::uint64_t ModuleCompiler::abandoned() const {
  return state_->abandoned_count;
}

}  // namespace wasimoff::engine
