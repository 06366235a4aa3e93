// Child processes for integration tests: spawn with argv + environment, output captured to
// files, bounded waits, signals. Every wait has a timeout so a hung child fails the test instead
// of hanging CI.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "temp_dir.h"  // TempDir, for the users of this header

namespace wasimoff::testing {

class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> argv;           // argv[0] = executable path
    std::map<std::string, std::string> env;  // added to (and overriding) the test's environment
    bool inherit_env = true;
    std::string cwd;         // "" = current directory
    std::string stdin_data;  // written to the child's stdin, then closed
  };

  explicit ChildProcess(Options options);
  ~ChildProcess();  // SIGKILLs the child if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit status (128+signal for signal deaths) or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit status.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::string stdout_text() const;
  std::string stderr_text() const;
  // Polls stderr until it contains `needle` (true) or the timeout passes / the child exits.
  bool wait_for_stderr(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string dir_;
};

std::string read_file(const std::string& path);

// A currently free port on 127.0.0.1 (TCP or UDP). Racy by nature but fine on a test machine.
std::uint16_t free_tcp_port();
std::uint16_t free_udp_port();

}  // namespace wasimoff::testing
