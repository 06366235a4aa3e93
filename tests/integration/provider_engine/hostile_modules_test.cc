// Hostile modules against the real compile pipeline (wasm-validate, wasm2c, cc) and real workers:
// names that would be C code, preprocessor lines or host file contents in wasm2c's output, tool
// crashes and compile bombs. Each gets a clear per-task answer, no file appears on the host, no
// host content appears in an answer or a log line, and the engine keeps serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <set>
#include <sstream>

#include "engine_harness.h"
#include "provider/engine/child_process.h"
#include "provider/engine/module_admission.h"
#include "wasm_builder.h"

namespace wasimoff::testing {
namespace {

using namespace asio::experimental::awaitable_operators;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Marks every byte an attacker controls, so the generated C can be searched for it.
const std::string kMarker = "XQZ";

// The file an injected constructor would create.
std::string marker_file() {
  return "/tmp/wasimoff-hostile-" + std::to_string(getpid());
}

// The first line of /etc/passwd: what an injected #include would leak.
std::string passwd_first_line() {
  std::string line;
  std::ifstream in("/etc/passwd");
  std::getline(in, line);
  return line;
}

std::string constructor_injection() {
  return "*/ __attribute__((constructor)) static void " + kMarker +
         "_ctor(void) { extern int creat(const char*, unsigned); creat(\"" + marker_file() +
         "\", 0644); } /*";
}
std::string include_injection() {
  return "\n#include \"/etc/passwd\"\n" + kMarker;
}

struct Hostile {
  std::string name;
  std::string wasm;
  // Expected answer: the program's output, or the start of the error.
  std::string stdout_text;
  std::string error_prefix;
};

// The corpus: names with comment terminators, preprocessor lines, newlines, quotes,
// backslashes and NULs in exports, imports, globals, memories, tables and every kind of custom
// section; modules that crash a tool.
std::vector<Hostile> corpus() {
  std::vector<Hostile> out;
  auto runs = [&](std::string name, WasmBuilder b) {
    out.push_back({std::move(name), b.bytes(), "hello\n", ""});
  };
  auto rejected = [&](std::string name, WasmBuilder b, std::string error) {
    out.push_back({std::move(name), b.bytes(), "", std::move(error)});
  };
  {
    WasmBuilder b = hello_module();
    b.export_(constructor_injection(), 0, 1);
    runs("constructor injected through a function export", b);
  }
  {
    WasmBuilder b = hello_module();
    b.export_(include_injection(), 0, 1);
    runs("#include of a host file through an export", b);
  }
  {
    WasmBuilder b = hello_module();
    std::uint32_t g = b.global(1);
    b.export_(std::string("g\"\\\0'", 5) + constructor_injection(), 3, g);
    runs("quotes, backslash and NUL in a global export", b);
  }
  {
    WasmBuilder b = hello_module();
    b.export_("memory" + include_injection(), 2, 0);
    runs("the memory exported again under a hostile name", b);
  }
  {
    WasmBuilder b = hello_module();
    b.table(1);
    b.export_("t\r\n#define Z_taskZ__start " + kMarker + "\n", 1, 0);
    runs("a #define through a table export", b);
  }
  {
    WasmBuilder b = hello_module();
    b.names(constructor_injection(), {{1, constructor_injection()}}, {{0, include_injection()}});
    runs("hostile module, function and local names in the name section", b);
  }
  {
    WasmBuilder b = hello_module();
    b.custom(include_injection(), constructor_injection());
    runs("a hostile custom section", b);
  }
  {
    // Data bytes are printed as numbers; the program prints them back unchanged.
    WasmBuilder b = hello_module(constructor_injection());
    out.push_back({"hostile data bytes", b.bytes(), constructor_injection(), ""});
  }
  {
    WasmBuilder b = hello_module();
    b.import_func("wasi_snapshot_preview1", "fd_write" + include_injection(), 0);
    rejected("preprocessor line in an import field", b,
             "unsupported module: import wasi_snapshot_preview1.fd_write\\n#include");
  }
  {
    WasmBuilder b = hello_module();
    b.import_func(constructor_injection(), "fd_write", 0);
    rejected("comment terminator in an import module", b, "unsupported module: import */");
  }
  {
    // A wasi_unstable (WASI preview 0) module: its imports are rebuilt from our preview 0 table
    // like those of preview 1.
    WasmBuilder b = hello_module("hello\n", "wasi_unstable");
    b.export_(constructor_injection(), 0, 1);
    b.names(include_injection(), {{1, constructor_injection()}}, {});
    runs("a wasi_unstable module with a hostile export and name section", b);
  }
  {
    WasmBuilder b = hello_module("hello\n", "wasi_unstable");
    b.import_func("wasi_unstable" + include_injection(), "fd_write", 0);
    rejected("a preprocessor line after wasi_unstable in an import module", b,
             "unsupported module: import wasi_unstable\\n#include");
  }
  {
    WasmBuilder b = hello_module("hello\n", "wasi_unstable");
    b.import_func("wasi_unstable", "fd_write" + constructor_injection(), 0);
    rejected("a comment terminator in a wasi_unstable import field", b,
             "unsupported module: import wasi_unstable.fd_write*/");
  }
  {
    WasmBuilder b = hello_module();
    b.import_memory("env" + include_injection(), "memory");
    rejected("an imported memory", b, "unsupported module: import env\\n#include");
  }
  {
    // 20000 nested blocks: wasm2c 1.0.32 overflows its stack (SIGSEGV). The sandbox contains the
    // crash; the client gets our category.
    WasmBuilder b = hello_module();
    std::string body;
    for (int i = 0; i < 20000; ++i) body += "\x02\x40";
    for (int i = 0; i < 20000; ++i) body += "\x0b";
    b.func(1, 0, body);
    rejected("nesting that crashes wasm2c", b, "unsupported module: translation to C failed");
  }
  return out;
}

// Captures every log line of the default logger while alive.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return lines_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream lines_;
};

// The bubblewrap sandbox as the provider uses it (as nobody when we are root), with a scratch
// base the sandbox user can reach.
struct SandboxSetup {
  std::shared_ptr<const engine::ProcessSandbox> sandbox;
  TempDir scratch;
  SandboxSetup() {
    sandbox = std::make_shared<engine::ProcessSandbox>(engine::SandboxOptions{});
    chmod(scratch.path().c_str(), 0711);
  }
};

enum class Mode { kDirect, kSandboxed };

class HostileModules : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    if (GetParam() == Mode::kSandboxed) {
      try {
        setup_.emplace();
        h_.emplace(default_pool_options(), cache_.path(), [this](engine::CompilerOptions& o) {
          o.sandbox = setup_->sandbox;
          o.scratch_dir = setup_->scratch.path();
        });
      } catch (const std::exception& e) {
        GTEST_SKIP() << "no bubblewrap sandbox here: " << e.what();
      }
    } else {
      h_.emplace(default_pool_options(), cache_.path());
    }
  }
  fs::path write_module(const std::string& bytes) {
    fs::path p = dir_.path() / ("m" + std::to_string(counter_++) + ".wasm");
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  TempDir cache_, dir_;
  std::optional<SandboxSetup> setup_;
  std::optional<EngineHarness> h_;
  int counter_ = 0;
};

TEST_P(HostileModules, EachGetsAClearAnswerWithoutTouchingTheHost) {
  std::error_code ec;
  fs::remove(marker_file(), ec);
  const std::string leaked = passwd_first_line();
  ASSERT_FALSE(leaked.empty());
  LogCapture logs;
  for (const Hostile& m : corpus()) {
    SCOPED_TRACE(m.name);
    v1::Task::Wasip1::Response r;
    try {
      r = h_->run_file(write_module(m.wasm));
    } catch (const engine::UnsupportedModule& e) {
      r.set_error(e.what());  // what TaskHandler puts into the Response
    }
    std::string answer = EngineHarness::show(r);
    if (m.error_prefix.empty()) {
      EXPECT_EQ(answer, "status 0, stdout \"" + m.stdout_text + "\", stderr \"\"");
    } else {
      EXPECT_THAT(answer, StartsWith("error: " + m.error_prefix));
      EXPECT_EQ(r.error().find('\n'), std::string::npos) << "one line: " << r.error();
    }
    EXPECT_EQ(answer.find(leaked), std::string::npos) << answer;
    EXPECT_FALSE(fs::exists(marker_file())) << "an injected constructor ran";
  }
  EXPECT_EQ(logs.text().find(leaked), std::string::npos) << logs.text();
  // Log lines are the provider's own: nothing of a module starts a line of its own.
  std::istringstream lines(logs.text());
  for (std::string line; std::getline(lines, line);)
    EXPECT_THAT(line, StartsWith("[")) << "a log record spans lines: " << line;
  // The engine keeps serving.
  EXPECT_EQ(EngineHarness::show(h_->run("hello")),
            "status 7, stdout \"hello from WAT\n\", stderr \"\"");
}

INSTANTIATE_TEST_SUITE_P(Modes, HostileModules, ::testing::Values(Mode::kDirect, Mode::kSandboxed),
                         [](const auto& info) {
                           return info.param == Mode::kDirect ? "Direct" : "Sandboxed";
                         });

// The attack is real: wasm2c copies these names into the C it writes. Admission removes them
// all; the C generated from the admitted module holds no byte of the attacker's names.
TEST(HostileNames, NeverReachTheGeneratedC) {
  TempDir dir;
  auto translate = [&](const std::string& wasm) {
    fs::path in = dir.path() / "module.wasm";
    std::ofstream(in, std::ios::binary) << wasm;
    std::string cmd = "cd " + dir.path().string() +
                      " && wasm2c module.wasm --module-name=task -o task.c 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return std::string("(wasm2c failed)");
    return read_file(dir.path() / "task.c") + read_file(dir.path() / "task.h");
  };
  int translated = 0;
  for (const Hostile& m : corpus()) {
    SCOPED_TRACE(m.name);
    if (!m.error_prefix.empty()) continue;  // rejected before any tool runs
    std::string raw = translate(m.wasm);
    std::string canonical = translate(engine::admit_module(m.wasm).wasm);
    ASSERT_NE(canonical, "(wasm2c failed)");
    EXPECT_EQ(canonical.find(kMarker), std::string::npos);
    EXPECT_EQ(canonical.find("passwd"), std::string::npos);
    // Without admission the marker reaches the C (except where wasm2c ignores the section).
    if (raw.find(kMarker) != std::string::npos) ++translated;
  }
  EXPECT_GE(translated, 4) << "the corpus no longer shows the injection it guards against";
}

// A function whose C form keeps gcc -O2 busy for seconds: many locals mixed in long chains.
// It is the module's _start, so the C compiler cannot drop it as unused.
std::string compile_bomb(int locals) {
  WasmBuilder b;
  std::uint32_t start_type = b.type("", "");
  b.memory(1);
  std::string body;
  for (std::int64_t i = 0; i < 4 * locals; ++i) {
    auto get = [&](std::int64_t l) {
      body.push_back('\x20');
      WasmBuilder::leb(body, static_cast<std::uint64_t>(l));
    };
    std::int64_t a = (i * 7919) % locals, c = (i * 104729) % locals, d = (i * 1299709) % locals;
    get(a);
    get(c);
    body.push_back('\x6c');  // i32.mul
    get(d);
    body.push_back('\x6a');  // i32.add
    body.push_back('\x21');  // local.set
    WasmBuilder::leb(body, static_cast<std::uint64_t>((a + c) % locals));
  }
  std::uint32_t start = b.func(start_type, static_cast<std::uint64_t>(locals), body);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b.bytes();
}

// Processes below us (the test) that are compilers or their sandbox.
std::set<std::string> compiler_processes() {
  std::set<std::string> found;
  std::map<pid_t, pid_t> parent;
  std::map<pid_t, std::string> name;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    parent[std::stoi(pid)] = ppid;
    name[std::stoi(pid)] = line.substr(open + 1, close - open - 1) + " (" + pid + " " + state + ")";
  }
  for (const auto& [pid, comm] : name) {
    for (pid_t p = parent[pid]; p > 1; p = parent.count(p) ? parent[p] : 0) {
      if (p == getpid()) {
        if (comm.rfind("wasimoff-worker", 0) != 0) found.insert(comm);
        break;
      }
    }
  }
  return found;
}

asio::awaitable<void> compile_into(engine::ModuleCompiler* c, fs::path path, std::string* out,
                                   std::chrono::steady_clock::time_point* finished) {
  try {
    co_await c->compile(make_ref(read_file(path)), path);
    *out = "(compiled)";
  } catch (const std::exception& e) {
    *out = e.what();
  }
  *finished = std::chrono::steady_clock::now();
}

TEST(CompileBomb, FailsAtItsBudgetWhileSmallModulesCompile) {
  TempDir cache, dir;
  EngineHarness h(default_pool_options(), cache.path(), [](engine::CompilerOptions& o) {
    // Long enough for the small module on a loaded machine (a CI run at load 11 needed more
    // than 1 s for it), far too short for the bomb.
    o.budget_base = std::chrono::seconds(4);
    o.budget_per_mib = std::chrono::seconds(0);
    o.large_code_bytes = 64 << 10;
    o.max_parallel = 1;
  });
  fs::path bomb = dir.path() / "bomb.wasm";
  std::ofstream(bomb, std::ios::binary)
      << compile_bomb(48000);  // gcc needs minutes; 16000 took 3-10 s
  std::string bomb_result, small_result;
  std::chrono::steady_clock::time_point bomb_done{}, small_done{};
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(h.ioc, compile_into(h.compiler.get(), bomb, &bomb_result, &bomb_done),
                 asio::detached);
  asio::co_spawn(h.ioc, compile_into(h.compiler.get(), fixture("noop"), &small_result, &small_done),
                 asio::detached);
  while (bomb_result.empty() || small_result.empty()) h.ioc.run_one();
  EXPECT_EQ(small_result, "(compiled)");
  EXPECT_EQ(bomb_result,
            "unsupported module: compile time budget of 4s exceeded (3.0 MiB of code, compiled "
            "in the large-module lane)");
  EXPECT_LT(small_done, bomb_done) << "the small module waited for the bomb";
  EXPECT_LT(bomb_done - started, std::chrono::seconds(20));
  // The failure is remembered; the compiler is gone.
  EXPECT_EQ(h.compiler->compilations(), 2u);
  EXPECT_THROW(h.compile_file(bomb), engine::UnsupportedModule);
  EXPECT_EQ(h.compiler->compilations(), 2u);
  EXPECT_TRUE(compiler_processes().empty());
}

TEST(CompileBomb, CompilationStopsWhenNoTaskWaits) {
  TempDir cache, dir;
  EngineHarness h(default_pool_options(), cache.path());
  fs::path bomb = dir.path() / "bomb.wasm";
  std::ofstream(bomb, std::ios::binary) << compile_bomb(6000);
  std::string ref = make_ref(read_file(bomb));
  // The only waiter gives up after 1 s (its task was cancelled).
  auto gives_up = [&]() -> asio::awaitable<void> {
    co_await (settle(h.compiler->compile(ref, bomb)) || sleep_for(std::chrono::seconds(1)));
  };
  h.await(gives_up());
  for (int i = 0; i < 50 && (h.compiler->abandoned() == 0 || !compiler_processes().empty()); ++i)
    h.wait_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.compiler->abandoned(), 1u);
  EXPECT_TRUE(compiler_processes().empty()) << *compiler_processes().begin();
  EXPECT_EQ(h.compiler->in_flight(), 0u);
  // Nothing was remembered: the next request compiles again (here: admission rejects nothing,
  // so a pipeline starts).
  auto again = [&]() -> asio::awaitable<void> {
    co_await (settle(h.compiler->compile(ref, bomb)) || sleep_for(std::chrono::milliseconds(300)));
  };
  h.await(again());
  EXPECT_EQ(h.compiler->compilations(), 2u);
}

}  // namespace
}  // namespace wasimoff::testing

namespace wasimoff::testing {
namespace {

// Whatever another program of the sandbox user does (here: a process limit it already exhausts),
// a compile that fails for lack of processes is a problem of this host, not of the module: it is
// not remembered, and the Broker may retry the task elsewhere.
TEST(CompileHost, FailuresOfTheHostAreNotRememberedAgainstTheModule) {
  if (geteuid() != 0) GTEST_SKIP() << "the process limit applies to the sandbox user (root only)";
  SandboxSetup setup;
  TempDir cache;
  EngineHarness starved(default_pool_options(), cache.path(), [&](engine::CompilerOptions& o) {
    o.sandbox = setup.sandbox;
    o.scratch_dir = setup.scratch.path();
    o.max_processes = 6;  // bwrap, its init and one tool: enough for wasm2c, not for gcc
  });
  try {
    starved.compile("noop");
    FAIL() << "compiled with a process limit of 1";
  } catch (const engine::UnsupportedModule& e) {
    FAIL() << "remembered as a module problem: " << e.what();
  } catch (const std::runtime_error& e) {
    // Which step runs out of processes first depends on how fast the earlier ones are reaped.
    EXPECT_THAT(e.what(), HasSubstr("Resource temporarily unavailable"));
  }
  EngineHarness healthy(default_pool_options(), cache.path(), [&](engine::CompilerOptions& o) {
    o.sandbox = setup.sandbox;
    o.scratch_dir = setup.scratch.path();
  });
  EXPECT_FALSE(healthy.compile("noop").cached);
}

}  // namespace
}  // namespace wasimoff::testing
