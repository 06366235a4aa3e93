#include "native_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace wasimoff::bench {

namespace {

constexpr std::size_t kMaxOutput = 16u << 20;

// One run: returns "" and fills `out`, or a description of the failure.
std::string run_once(const std::vector<std::string>& argv, std::string& out) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return "cannot start " + argv[0] + ": " + std::strerror(rc);
  }
  char buf[65536];
  bool truncated = false;
  for (;;) {
    auto n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<std::size_t>(n) > kMaxOutput) {
      truncated = true;
      continue;  // keep draining so the child can finish
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (truncated) return argv[0] + ": output larger than 16 MiB";
  if (WIFSIGNALED(status))
    return argv[0] + ": killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0)
    return argv[0] + ": exit status " + std::to_string(WEXITSTATUS(status));
  return "";
}

}  // namespace

NativeRunResult run_native(const std::vector<std::vector<std::string>>& argvs, int parallel) {
  NativeRunResult result;
  result.outputs.resize(argvs.size());
  result.latency_ms.resize(argvs.size());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, parallel); ++t)
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < argvs.size(); i = next++) {
        auto start = std::chrono::steady_clock::now();
        auto error = run_once(argvs[i], result.outputs[i]);
        result.latency_ms[i] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!error.empty()) {
          std::lock_guard lock(mutex);
          if (result.failures++ == 0) result.first_failure = error;
        }
      }
    });
  for (auto& t : threads) t.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace wasimoff::bench
